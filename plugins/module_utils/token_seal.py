# Copyright (c) community.mimecast contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How an API 2.0 bearer token a module fetched travels back to its action plugin on the controller: sealed with
the client secret, which both sides already hold, so the module's output (also where Ansible keeps or prints it
raw) carries nothing usable without that secret. Standard library only: the module runs on any host.
The result key that carries it is in run_contract.py. Internal use only: this API may change without notice.

The seal is encrypt-then-MAC with keys derived by HMAC-SHA256 from the client secret and a random nonce: an
HMAC-SHA256 counter keystream XORed with the token, and a tag over nonce and ciphertext. A nonce is never reused
(16 random bytes per seal), and a seal that was tampered with, or made with another secret, is refused.
"""

import base64
import hashlib
import hmac
import os

_CONTEXT = b"community.mimecast token seal v1"
_NONCE = 16
_TAG = 32


def _keys(secret, nonce):
    root = hmac.new(secret.encode("utf-8"), _CONTEXT + nonce, hashlib.sha256).digest()
    return (
        hmac.new(root, b"encrypt", hashlib.sha256).digest(),
        hmac.new(root, b"authenticate", hashlib.sha256).digest(),
    )


def _keystream(key, length):
    blocks = []
    counter = 0
    while len(blocks) * 32 < length:
        blocks.append(hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha256).digest())
        counter += 1
    return b"".join(blocks)[:length]


def seal(secret, token):
    """Return ``token`` sealed with ``secret``, as URL-safe base64 text."""
    nonce = os.urandom(_NONCE)
    encrypt, authenticate = _keys(secret, nonce)
    plain = token.encode("utf-8")
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(encrypt, len(plain))))
    tag = hmac.new(authenticate, nonce + cipher, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(nonce + tag + cipher).decode("ascii")


def unseal(secret, sealed):
    """Return the token of ``sealed``; raise ValueError when it is malformed or not sealed with ``secret``."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    except (AttributeError, UnicodeError, ValueError):
        raise ValueError("not a sealed token") from None
    if len(raw) <= _NONCE + _TAG:
        raise ValueError("not a sealed token")
    nonce, tag, cipher = raw[:_NONCE], raw[_NONCE : _NONCE + _TAG], raw[_NONCE + _TAG :]
    encrypt, authenticate = _keys(secret, nonce)
    if not hmac.compare_digest(tag, hmac.new(authenticate, nonce + cipher, hashlib.sha256).digest()):
        raise ValueError("the sealed token does not match this client secret")
    plain = bytes(a ^ b for a, b in zip(cipher, _keystream(encrypt, len(cipher))))
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not a sealed token") from None
