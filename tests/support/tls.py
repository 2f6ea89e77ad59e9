"""A private certificate authority made for one test: its CA, a server
certificate for loopback and a client certificate, as PEM files, and the same
as Java key stores for the JVM (keytool reads the store password from the
environment, never from its command line)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Party:
    """A certificate and its private key as PEM files."""
    cert: Path
    key: Path


@dataclass(frozen=True)
class PrivateCa:
    ca_cert: Path
    server: Party
    client: Party


def private_ca(directory: Path) -> PrivateCa:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("fleetwatch test CA")
    ca = (_builder(ca_name, ca_name, ca_key)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    ca_cert = directory / "ca.pem"
    ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server = _issue(directory, "server", ca, ca_key, ExtendedKeyUsageOID.SERVER_AUTH,
                    x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                 x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]))
    client = _issue(directory, "client", ca, ca_key, ExtendedKeyUsageOID.CLIENT_AUTH, None)
    return PrivateCa(ca_cert, server, client)


def key_store(party: Party, path: Path, password: str) -> Path:
    """A PKCS12 key store holding the party's key and certificate."""
    key = serialization.load_pem_private_key(party.key.read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(party.cert.read_bytes())
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"fleetwatch", key, cert, None,
        serialization.BestAvailableEncryption(password.encode())))
    return path


def trust_store(ca_cert: Path, path: Path, password: str) -> Path:
    """A PKCS12 trust store with the CA as a trusted certificate: Java only
    trusts entries keytool marks as such, which cryptography cannot write."""
    subprocess.run(["keytool", "-importcert", "-noprompt", "-alias", "fleetwatch-ca",
                    "-file", str(ca_cert), "-keystore", str(path), "-storetype", "PKCS12",
                    "-storepass:env", "FLEETWATCH_TEST_STORE_PASSWORD"],
                   env={**os.environ, "FLEETWATCH_TEST_STORE_PASSWORD": password},
                   check=True, capture_output=True)
    return path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, key) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1)))


def _issue(directory: Path, who: str, ca: x509.Certificate, ca_key, usage,
           names: x509.SubjectAlternativeName | None) -> Party:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (_builder(_name(f"fleetwatch test {who}"), ca.subject, key)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if names is not None:
        builder = builder.add_extension(names, critical=False)
    cert_path, key_path = directory / f"{who}.pem", directory / f"{who}-key.pem"
    cert_path.write_bytes(builder.sign(ca_key, hashes.SHA256())
                          .public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return Party(cert_path, key_path)
