"""The simulated iPhone's own key pair and its TLS server side.

A real iPhone keeps one RSA key pair for lockdown: it hands the public half to a host as
``DevicePublicKey`` (PEM, PKCS#1 "RSA PUBLIC KEY"), the host signs a ``DeviceCertificate`` over it
with its own root during Pair, and from then on the phone presents that certificate, with its
private key, when a session turns into TLS. This module is the only one in the simulator that
imports the crypto library, and only when a key is made or used, so importing the simulator
stays cheap.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# iOS has used 2048-bit device keys since iOS 5; smaller keys would also work with the client
# (SECLEVEL=0) but would look wrong to anyone who inspects DevicePublicKey.
_KEY_BITS = 2048


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """The phone's RSA key pair as PEM: PKCS#8 private half, PKCS#1 public half (as iOS sends)."""

    private_pem: bytes
    public_pem: bytes


def generate_device_key() -> DeviceKey:
    """Make a fresh key pair (about a tenth of a second: do it once per simulated phone)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    return _export(key)


def load_device_key(private_pem: bytes) -> DeviceKey:
    """Rebuild a key pair saved earlier; raises ValueError if the PEM is not an RSA private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the saved device key is not an RSA key")
    return _export(key)


def _export(key: RSAPrivateKey) -> DeviceKey:
    from cryptography.hazmat.primitives import serialization

    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    return DeviceKey(private_pem=private_pem, public_pem=public_pem)


def certificate_matches_key(certificate_pem: bytes, key: DeviceKey) -> bool:
    """Whether a host-made DeviceCertificate really certifies this phone's public key.

    A phone that accepted a certificate over someone else's key could not finish the TLS
    handshake later, so Pair refuses such a record up front.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        with warnings.catch_warnings():
            # libimobiledevice signs with serial number 0, which cryptography frowns upon.
            warnings.simplefilter("ignore")
            certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        return False
    mine = serialization.load_pem_public_key(key.public_pem)
    theirs = certificate.public_key()
    if not isinstance(theirs, rsa.RSAPublicKey) or not isinstance(mine, rsa.RSAPublicKey):
        return False
    return theirs.public_numbers() == mine.public_numbers()


def server_ssl_context(certificate_pem: bytes, key: DeviceKey) -> ssl.SSLContext:
    """A TLS server context that presents ``certificate_pem`` with the phone's private key.

    ``ssl`` only loads a chain from files, so the two PEMs go to a private temporary folder
    (mode 0700, removed before returning). The client checks nothing (CERT_NONE, no SNI), and the
    phone does not ask for the host's certificate either.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_NONE
    with tempfile.TemporaryDirectory(prefix="simulated-iphone-tls-") as folder:
        path = Path(folder) / "chain.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as chain:
            chain.write(certificate_pem.rstrip(b"\n") + b"\n" + key.private_pem)
        context.load_cert_chain(path)
    return context
