"""Structural cues of an instruction aimed at an AI, for the classifier (featuriser ``soar-hash-v3``).

A bag of n-grams learns the phrasings of its training templates; what an injection *does* is more general:
it addresses the model ("AI assistant reading this", "if you are a language model"), refers to the model's
instructions ("previous instructions", "system prompt", "your task"), asks for secrecy from the user, names
secrets, calls tools, sends data to a link or address, or fakes a role marker ("### system", "<|im_start|>").
Each cue is one RE2 pattern over the normalised (folded, lower-cased) text; all of them run as ONE
``re2.Set`` pass. ``cue_tokens`` turns the cues present in a text into words (``xcue<name>``) and one word per
pair of cues present (``xcue<a>x<b>``), which the featuriser appends to the text, so the linear model can
weigh "addresses an AI *and* sends data to a link" above either alone, and hard-benign text that has one
cue (security writing naming "system prompt"; an e-mail asking a person to forward something) is not
pushed up by it alone. The cues are generic (no phrasing of any eval file); a few words are multilingual.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import re2

_AI = (
    r"(?:ai|a\.i\.|assistant|agent|model|llm|chatbot|bot|copilot|gpt|chatgpt|claude|gemini|language model|"
    r"asistente|assistente|assistent|ki|ia|intelligence artificielle|kunstliche intelligenz|modelo|modele|modell)"
)
_INSTR = (
    r"(?:instructions?|directions?|directives?|guidelines?|rules|prompt|task|orders?|guidance|objective|goal|"
    r"programming|policy|constraints|instrucciones|consignes|anweisungen|regeln|aufgabe|istruzioni|regole|"
    r"instrucoes|regras|instructies|regels|opdracht|tarea|tache|compito|tarefa|taak)"
)

#: (name, RE2 pattern) over normalised text
CUES: list[tuple[str, str]] = [
    # a greeting or note addressed to an AI reader
    (
        "addr",
        r"(?:^|[\s>:(\[-])(?:dear|hey|hi|hello|attention|note (?:to|for)|message (?:to|for)|to|for|calling|"
        r"instructions? for|memo to)\s+(?:the\s+|any\s+|all\s+|whichever\s+|every\s+)?(?:\w+\s+)?" + _AI + r"s?\b",
    ),
    # an AI as the subject of an obligation or request
    (
        "aimust",
        r"\b" + _AI + r"s?\s+(?:\w+\s+){0,3}(?:must|should|shall|will|has to|have to|is required to|are "
        r"required to|is instructed to|are instructed to|needs? to|is (?:now )?(?:allowed|permitted|authori[sz]ed)"
        r" to)\b",
    ),
    # "if you are an AI / reading this as a model"
    (
        "ifai",
        r"\bif (?:you(?:'re| are)|you're) (?:an? |the )?(?:\w+ )?"
        + _AI
        + r"\b|\b"
        + _AI
        + r"s? (?:reading|processing|summari[sz]ing|handling|visiting|parsing) (?:this|these|my)\b",
    ),
    # the model's own instructions, task or prompt
    (
        "instr",
        r"\b(?:your|previous|prior|earlier|original|above|initial|old|existing|system|current|real|"
        r"actual|true|new|updated|revised|hidden|additional|anteriores|precedentes|vorherigen|bisherigen|"
        r"precedenti|eerdere|vorige|initiales)\s+(?:\w+\s+)?" + _INSTR + r"\b",
    ),
    # override verbs in front of instructions, a task or "the above"
    (
        "override",
        r"\b(?:ignore|disregard|forget|override|bypass|drop|abandon|discard|skip|cancel|set aside|"
        r"pay no attention to|never mind|stop following|no longer follow|do not follow|don't follow|ignora|ignorez|"
        r"ignoriere|vergiss|oubliez|olvida|dimentica|esqueca|negeer|vergeet)\b[^.!?\n]{0,50}\b(?:"
        + _INSTR[3:-1]
        + r"|above|before|earlier|told|asked|request|summary|user)\b",
    ),
    # hide the action from the user
    (
        "secret",
        r"\b(?:do not|don't|never|without)\s+(?:\w+\s+)?(?:tell|telling|inform|informing|mention|"
        r"mentioning|reveal|revealing|alert|alerting|notify|notifying|show|showing|asking|ask|confirm|confirming|"
        r"disclose|disclosing)\s+(?:\w+\s+){0,2}(?:the\s+)?(?:user|human|owner|anyone|them|it)\b|\b(?:user|human|"
        r"owner)\s+(?:must|should|will|need)\s+not\s+(?:know|find out|see|notice|be told)\b|\b(?:hide|keep|leave)"
        r" (?:this|it)\s+(?:\w+\s+)?(?:from|out of|secret|confidential)\b|\bsilently\b|\bas if (?:nothing|this)\b",
    ),
    # secrets and private data
    (
        "secretdata",
        r"\b(?:passwords?|api[ _-]?keys?|secrets?|credentials?|access tokens?|session (?:cookie|token)s?"
        r"|system prompt|ssh|id_rsa|\.env\b|private keys?|cookies?|one-time codes?|2fa|otp|card numbers?|iban|"
        r"bank details|salar(?:y|ies)|payroll|conversation history|chat history)",
    ),
    # data sent to a link or an address in the same sentence
    (
        "exfil",
        r"\b(?:send|sends|sending|forward|upload|post|email|e-mail|transfer|share|leak|exfiltrate|append|"
        r"embed|include|attach|copy|paste|submit|encode|export|sync|fetch|load|render)\b[^.!?\n]{0,100}"
        r"(?:https?://|www\.|[\w.+-]+@[\w-]+\.\w)",
    ),
    # a link carrying data in its query string or path placeholder
    (
        "dataurl",
        r"(?:https?://|www\.)\S*(?:[?&][\w-]+=(?:\s|$|\)|\{|<|\[)|\{[\w ]+\}|<[\w ]+>|(?:secret|token|key|"
        r"data|payload|cookie|password)\b)",
    ),
    # markdown image or link with a remote target
    ("mdimg", r"!\[[^\]\n]{0,40}\]\(|\]\((?:https?://|www\.)"),
    # a tool or function call
    (
        "tool",
        r"\b[a-z]+_[a-z_]+\s*\(|\b(?:call|invoke|use|run|execute|trigger|using)\s+(?:the\s+|your\s+)?"
        r"(?:[a-z]+_[a-z_]+|\w+\s+tool|tool\s+\w+)\b",
    ),
    # a role marker or chat-template token inside content
    (
        "role",
        r"<\|[a-z_]+\|>|\[/?inst\]|<</?sys>>|\[/?system\]|</?system>|</?instructions?>|(?:^|\n|#\s?|\s)"
        r"(?:system|assistant|human|ai|user)\s?:\s|#{2,}\s*(?:system|instruction|assistant|admin|operator)|"
        r"\"role\"\s*:\s*\"system\"",
    ),
    # unrestricted personas and modes
    (
        "mode",
        r"\b(?:developer|god|jailbreak|maintenance|admin|unrestricted|debug|dan)\s+mode\b|\bno (?:restrictions"
        r"|rules|limits|filters?|guidelines|content policy)\b|\bwithout (?:restrictions|limits|rules)\b",
    ),
    # a second-person order at the start of a sentence
    (
        "youmust",
        r"(?:^|[.!?:]\s)(?:you must|you will|you are (?:now )?(?:required|allowed|instructed|permitted|"
        r"authori[sz]ed)|you have been (?:authori[sz]ed|instructed)|you should now|now you)\b",
    ),
    # urgency without a human addressee
    (
        "urgent",
        r"\b(?:urgent|immediately|right away|right now|at once|critical|mandatory|emergency|final warning|"
        r"time-sensitive|without delay)\b",
    ),
    # a new or replaced task
    (
        "newtask",
        r"\b(?:new|next|updated|real|actual|additional|revised|priority|only)\s+(?:instructions?|task|"
        r"directive|objective|goal|orders?|job|request|action|step)\b|\binstead\b|\bfrom now on\b|\bfrom here on\b",
    ),
]
NAMES = [name for name, _ in CUES]
PATTERNS = [pattern for _, pattern in CUES]


def _compile() -> Any:
    opts = re2.Options()
    opts.max_mem = 64 << 20
    s = re2.Set.SearchSet(opts)
    for pattern in PATTERNS:
        s.Add(pattern)
    s.Compile()
    return s


_SET = _compile()


def cues(text: str) -> list[str]:
    """Names of the cues present in ``text`` (normalised text), in ``CUES`` order."""
    hits = _SET.Match(text)
    return [NAMES[i] for i in sorted(hits)] if hits else []


def cue_tokens(text: str) -> str:
    """The cue words of ``text``: ``xcue<name>`` per cue and ``xcue<a>x<b>`` per pair ('' when none)."""
    return cue_words(cues(text))


def cue_words(found: list[str]) -> str:
    """The cue words of the cues ``found`` (names in ``CUES`` order), as ``cue_tokens`` writes them."""
    if not found:
        return ""
    words = [f"xcue{n}" for n in found]
    words.extend(f"xcue{a}x{b}" for a, b in combinations(found, 2))
    return " ".join(words)
