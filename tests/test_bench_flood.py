"""``soar bench flood``'s options and hostile records, without a broker (tests/faults/test_flood.py runs it)."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from soar.bench import BenchAgent
from soar.bench_flood import KINDS, OUTCOME, FloodOptions, Hostile
from soar.errors import IngestError
from soar.ingest.decoders import RawRecord, decode


def _hostile() -> Hostile:
    victims = [BenchAgent(f"victim-{i}", Ed25519PrivateKey.generate()) for i in range(2)]
    return Hostile(victims, [v.sign("lifecycle", {"state": "heartbeat"}) for v in victims])


def test_records_take_the_chosen_kinds_in_turn_then_the_big_ones() -> None:
    records, made = _hostile().records(7, 1, ("empty", "too_deep"))
    assert {k: n for k, n in made.items() if n} == {"empty": 3, "too_deep": 3, "too_large": 1}
    sizes = [len(value) for _, value in records]
    assert sizes[0] == 0 and sizes[1] > 20_000  # empty, then 10,000 brackets deep each way
    assert sizes[-1] > 10 << 20


@pytest.mark.parametrize("kind", ["empty", "invalid_json", "too_deep", "not_an_object", "wrong_types"])
def test_each_decoder_kind_is_rejected_for_the_reason_the_bench_expects(kind: str) -> None:
    records, _ = _hostile().records(1, 0, (kind,))
    value = records[0][1]
    with pytest.raises(IngestError) as e:
        decode(RawRecord(value, "t", 0, 0), max_bytes=256 * 1024, max_depth=64)
    assert e.value.reason == OUTCOME[kind][1]


def test_options_refuse_unknown_kinds_and_impossible_shares() -> None:
    assert FloodOptions().kinds == tuple(KINDS)
    with pytest.raises(ValidationError, match="sql_injection"):
        FloodOptions(kinds=("too_deep", "sql_injection"))
    with pytest.raises(ValidationError):
        FloodOptions(kinds=())
    with pytest.raises(ValidationError):
        FloodOptions(good_fraction=1.5)
