"""The password policy of local accounts, and the dummy hash that makes unknown usernames cost a real check.

Following NIST SP 800-63B: a minimum length, no composition rules, and a refusal of
passwords that are easy to guess: common ones, runs such as 12345678 or qwertyui,
too few different characters (eight spaces, aaaaaaaa), or the username itself.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher

MIN_PASSWORD, MAX_PASSWORD = 8, 1024
MIN_DISTINCT = 4
RUNS = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv",
    "qazwsxedcrfv",
)
COMMON = frozenset(
    """
password password1 password12 password123 passw0rd p@ssw0rd p@ssword passwort motdepasse contraseña
iloveyou iloveyou1 sunshine sunshine1 princess princess1 football football1 baseball baseball1 welcome1
welcome123 admin123 administrator qwerty123 qwerty12 qwertyui qwertyuiop 1q2w3e4r 1q2w3e4r5t 1qaz2wsx
zaq12wsx zaq1zaq1 trustno1 starwars whatever superman batman123 michelle jennifer computer corvette
mercedes internet letmein1 letmein123 monkey123 dragon123 shadow123 master123 changeme changeme1 secret123
abc12345 abcd1234 1234abcd 12341234 12344321 qwer1234 asdf1234 q1w2e3r4 q1w2e3r4t5 charlie1 blink182
liverpool chelsea1 arsenal1 manchester pokemon1 whatever1 freedom1 flower12 hello123 hellohello
emolens emolens1 emolens123 correcthorsebatterystaple correct horse battery staple
""".split()
) | {"correct horse battery staple"}


class PasswordRefused(ValueError):
    """The message says why and what would be accepted."""


def check_password(password: str, username: str | None = None) -> str:
    """The password, or PasswordRefused naming the rule it breaks."""
    if len(password) < MIN_PASSWORD:
        raise PasswordRefused(
            f"the password is too short: use at least {MIN_PASSWORD} characters (a few words are easy to remember)"
        )
    if len(password) > MAX_PASSWORD:
        raise PasswordRefused(f"the password is longer than {MAX_PASSWORD} characters")
    plain = password.strip().lower()
    if len(set(plain)) < MIN_DISTINCT:
        raise PasswordRefused(
            f"the password has fewer than {MIN_DISTINCT} different characters: "
            "a few words are easy to remember and hard to guess"
        )
    if plain in COMMON or plain.replace(" ", "") in COMMON or _is_run(plain):
        raise PasswordRefused(
            "this is one of the most common passwords (or a run such as 12345678): choose one that is not"
        )
    name = (username or "").strip().lower()
    if len(name) >= 2 and (name in (plain, plain[::-1]) or (len(name) >= 4 and name in plain)):
        raise PasswordRefused("the password contains the username: choose one that does not")
    return password


def _is_run(text: str) -> bool:
    """'12345678', '87654321', 'abcdefgh', 'qwertyui': a piece of a keyboard row or of the alphabet."""
    return any(text in run or text in run[::-1] for run in RUNS)


def dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random secret with the hasher's parameters: checking an unknown user costs the same time."""
    return hasher.hash(secrets.token_urlsafe(24))
