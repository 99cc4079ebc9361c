"""Alias tokens: signed, tamper-evident, and readable after whatever mail clients do to bodies."""

from __future__ import annotations

import html
import random
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vmrsched.domain.bodies import html_to_text
from vmrsched.domain.tokens import (
    PLACEHOLDER_PREFIX,
    SIGNED_PREFIX,
    TokenKey,
    TokenKind,
    TokenStatus,
    classify,
    issue_token,
    placeholder_token,
    read_token,
    verify_token,
)

KEY = TokenKey(bytes(range(32)))
OTHER_KEY = TokenKey(bytes(range(1, 33)))
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

keys = st.binary(min_size=32, max_size=64).map(TokenKey)
token_ids = st.uuids().map(str)
aliases = st.from_regex(r"[a-z0-9]{1,8}[0-9]{5,15}(@[a-z]{1,10}\.[a-z]{2,5})?", fullmatch=True)
issued = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda value: value.replace(microsecond=0))
# Surrounding text: anything readable that cannot itself form a token.
prose = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="&<>#=:"),
    max_size=60,
).filter(lambda text: "vmr" not in text.casefold())


def _token(key: TokenKey = KEY, alias: str = "81042917@vmr.example.com") -> tuple[str, str]:
    token_id = str(uuid.UUID(int=12345678901234567890))
    return issue_token(key, token_id, alias, datetime(2026, 11, 23, 8, tzinfo=UTC)), token_id


def test_token_has_the_documented_shape() -> None:
    """A token is VMRS:- + 32 base32 characters + '.' + 24 base32 characters + '#'."""
    token, _ = _token()
    assert token.startswith(SIGNED_PREFIX)
    assert token.endswith("#")
    payload, signature = token.removeprefix(SIGNED_PREFIX).removesuffix("#").split(".")
    assert len(payload) == 32
    assert len(signature) == 24
    assert set(payload + signature) <= set(BASE32)


@settings(deadline=None)
@given(key=keys, token_id=token_ids, alias=aliases, when=issued)
def test_a_token_reads_back_and_verifies(
    key: TokenKey, token_id: str, alias: str, when: datetime
) -> None:
    """Reading an issued token gives its id and issue time, and it verifies for its alias."""
    token = issue_token(key, token_id, alias, when)
    reading = read_token(f"Join us. {token} Thanks")
    assert reading.kind is TokenKind.SIGNED
    assert reading.token_id == token_id
    assert reading.issued == when
    assert reading.text == token
    assert classify(reading, key, alias) is TokenStatus.VALID


@settings(deadline=None)
@given(
    key=keys,
    token_id=token_ids,
    alias=aliases,
    when=issued,
    position=st.integers(len(SIGNED_PREFIX), len(SIGNED_PREFIX) + 56),
    edit=st.sampled_from(["replace", "delete", "insert"]),
    char=st.sampled_from(BASE32 + "0189.-_x"),
)
def test_any_edit_of_a_token_is_detected(
    key: TokenKey, token_id: str, alias: str, when: datetime, position: int, edit: str, char: str
) -> None:
    """Replacing, deleting or inserting any character never yields a token that verifies."""
    token = issue_token(key, token_id, alias, when)
    if edit == "replace":
        assume(token[position].upper() != char.upper())
        tampered = token[:position] + char + token[position + 1 :]
    elif edit == "delete":
        tampered = token[:position] + token[position + 1 :]
    else:
        tampered = token[:position] + char + token[position:]
    reading = read_token(tampered)
    assert classify(reading, key, alias) is not TokenStatus.VALID


@settings(deadline=None)
@given(key=keys, token_id=token_ids, alias=aliases, other=aliases, when=issued)
def test_a_token_does_not_verify_for_another_alias_or_key(
    key: TokenKey, token_id: str, alias: str, other: str, when: datetime
) -> None:
    """The signature binds the token to its alias and to this installation's key."""
    assume(alias.casefold() != other.casefold())
    reading = read_token(issue_token(key, token_id, alias, when))
    assert not verify_token(reading, key, other)
    assume(key != OTHER_KEY)
    assert not verify_token(reading, OTHER_KEY, alias)


def _scatter(token: str, rng: random.Random, pieces: list[str]) -> str:
    out = []
    for char in token:
        out.append(char)
        if rng.random() < 0.15:
            out.append(rng.choice(pieces))
    return "".join(out)


@settings(deadline=None)
@given(before=prose, after=prose, seed=st.integers(0, 2**32))
def test_a_token_survives_html_rewriting(before: str, after: str, seed: int) -> None:
    """Tags, entities and soft breaks inserted by HTML editors do not hide the token."""
    token, token_id = _token()
    rng = random.Random(seed)

    def encode(char: str) -> str:
        roll = rng.random()
        if roll < 0.2:
            return f"&#{ord(char)};"
        return f"&#x{ord(char):x};" if roll < 0.3 else char

    noise = ["<span>", "</span>", "<wbr>", "<span style='color:red'>", "&shy;", "&#8203;", "\n"]
    marked = "".join(
        encode(char) + (rng.choice(noise) if rng.random() < 0.15 else "") for char in token
    )
    body = f"<div><p>{html.escape(before)}</p><p>{marked}</p>{html.escape(after)}</div>"
    reading = read_token(html_body=body)
    assert reading.token_id == token_id
    assert classify(reading, KEY, "81042917@vmr.example.com") is TokenStatus.VALID


@settings(deadline=None)
@given(before=prose, after=prose, seed=st.integers(0, 2**32))
def test_a_token_survives_plain_text_conversion_and_wrapping(
    before: str, after: str, seed: int
) -> None:
    """HTML to text, hard line wraps, quote markers and soft breaks do not hide the token."""
    token, token_id = _token()
    rng = random.Random(seed)
    wrapped = _scatter(token, rng, ["\n", "\r\n> ", "\n>> ", " ", "=\n", "\u200b", "\u00ad"])
    as_html = (
        f"<p>{html.escape(before)}</p><p>{html.escape(wrapped)}</p><p>{html.escape(after)}</p>"
    )
    for text in (f"{before}\n{wrapped}\n{after}", html_to_text(as_html)):
        reading = read_token(text)
        assert reading.token_id == token_id
        assert classify(reading, KEY, "81042917@vmr.example.com") is TokenStatus.VALID


def test_a_double_escaped_token_is_still_read() -> None:
    """A client that escapes the body twice (&amp;#35;) still leaves a readable token."""
    token, token_id = _token()
    assert read_token(html_body=html.escape(html.escape(token))).token_id == token_id


def test_case_changes_do_not_matter() -> None:
    """Reading ignores case, so a client that lower-cases text changes nothing."""
    token, token_id = _token()
    reading = read_token(token.lower())
    assert reading.token_id == token_id
    assert reading.text == token


def test_placeholder_tokens_are_recognised() -> None:
    """A placeholder from the add-in is classified as such, with its id upper-cased."""
    text = placeholder_token("abcdEFGH12345678")
    assert text == f"{PLACEHOLDER_PREFIX}ABCDEFGH12345678#"
    reading = read_token(html_body=f"<p>Details will follow</p><p>{text}</p>")
    assert reading.kind is TokenKind.PLACEHOLDER
    assert reading.placeholder_id == "ABCDEFGH12345678"
    assert classify(reading, KEY, None) is TokenStatus.PLACEHOLDER


def test_a_signed_token_wins_over_a_placeholder() -> None:
    """When both are present (the real instructions were added later) the signed one counts."""
    token, token_id = _token()
    reading = read_token(f"{placeholder_token('A' * 20)}\n{token}")
    assert reading.kind is TokenKind.SIGNED
    assert reading.token_id == token_id


def test_a_cut_token_is_malformed_and_counts_as_tampered() -> None:
    """Our prefix without a whole token is MALFORMED, which classifies as TAMPERED."""
    token, _ = _token()
    reading = read_token(token[:30])
    assert reading.kind is TokenKind.MALFORMED
    assert classify(reading, KEY, "81042917@vmr.example.com") is TokenStatus.TAMPERED


def test_no_token_is_absent() -> None:
    """A body without our prefix has no token; Pexip's own tokens are not ours."""
    reading = read_token("Hello", "<p>PXPS:-6f1c2b1e-0000-4000-8000-000000000000#</p>")
    assert reading.kind is TokenKind.ABSENT
    assert classify(reading, KEY, None) is TokenStatus.ABSENT


def test_an_unknown_token_id_is_tampered() -> None:
    """A well-formed token whose reservation is unknown (alias None) is not valid."""
    token, _ = _token()
    assert classify(read_token(token), KEY, None) is TokenStatus.TAMPERED


def test_the_key_never_shows_in_repr() -> None:
    """A TokenKey prints its public fingerprint only."""
    text = repr(KEY) + str(KEY)
    assert KEY.material.hex() not in text
    assert KEY.key_id in text


def test_a_short_key_is_refused() -> None:
    """Keys shorter than 256 bits are refused."""
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenKey(b"short")


def test_issuing_is_deterministic() -> None:
    """The same reservation and key always give the same token text (it is not stored)."""
    assert _token() == _token()
