"""Fast paths of the injection scoring path give what the plain computation gives, on adversarial inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soar.detect import ml
from soar.detect.ml import load_model
from soar.detect.normalize import normalize

from .conftest import ROOT

# pieces that exercise the link masks' edges: schemes, 'www.', '@' runs, every kind of whitespace and word
# character (Unicode letters and digits are \w to Python's re), the e-mail class's punctuation
_LINK_BITS = st.sampled_from(
    ["://", "www.", "http://", "https://", "@", "@x.co", "a.b", "-", "+", "_", ".", "/", " ", "\n", "\t", "\u00a0",
     "\u2003", "\u3000", "\x1c", "é", "ж", "٣", "x", "7", "(", "<", '"', "mail@ex-ample.org", "a@b@c.d"]
)  # fmt: skip


def _plain_mask(text: str) -> str:
    """The masks over the whole text, as before the token fast path."""
    text = ml._URL.sub(" xurlx ", text)
    return ml._MAIL.sub(" xmailx ", text)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.one_of(_LINK_BITS, st.text(max_size=4)), max_size=30).map("".join))
def test_mask_links_tokens_equal_whole_text(text: str) -> None:
    assert ml._mask_links(text) == _plain_mask(text)


def test_mask_links_examples() -> None:
    text = "mail a@b.co or see https://x.example/p?q=1 (www.y.example)\nfoo@bar@baz.org end"
    assert ml._mask_links(text) == _plain_mask(text)
    assert "xmailx" in ml._mask_links(text) and "xurlx" in ml._mask_links(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=300), min_size=1, max_size=80))
def test_decision_chunked_equals_one_row_at_a_time(texts: list[str]) -> None:
    """Chunks of rows (DOT_CHUNK_CHARS / DOT_CHUNK_ROWS) give each row the score it gets alone."""
    model = load_model(ROOT / "detectors" / "models", "injection")
    assert model is not None
    scan = [normalize(t).text for t in texts]
    batch = model.decision(scan)
    alone = np.concatenate([model.decision([t]) for t in scan])
    assert np.abs(batch - alone).max() < 1e-9
