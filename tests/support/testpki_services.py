"""A throwaway PKI with OCSP, CRL and timestamp services served on 127.0.0.1 by certomancer."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, PKIArchitecture
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.support.pki import TEST_OFFICE, TEST_PASSPHRASE, TEST_SIGNER

__all__ = [
    "ARCH",
    "REVOKED_SIGNER",
    "PkiServices",
    "free_loopback_url",
    "running_pki_services",
]

ARCH = "motcua-test"
"""Label of the certomancer PKI architecture (first segment of every service URL)."""

REVOKED_SIGNER = "Lê Văn Thu Hồi"
"""Common name of the signer whose certificate the CA has revoked."""

_KEYS = ("root", "tsa", "ocsp", "signer", "revoked")
_SERVICES = ("tsa", "ocsp", "crls")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class _Switchboard:
    """WSGI front that can take chosen services down and hands the rest to certomancer."""

    app: WsgiApp | None = None
    down: set[str] = field(default_factory=set)
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        parts = str(environ.get("PATH_INFO", "")).strip("/").split("/")
        service = parts[1] if len(parts) > 1 else ""
        with self.lock:
            self.hits[service] = self.hits.get(service, 0) + 1
            is_down = service in self.down
        if is_down or self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"tam ngung phuc vu"]
        return self.app(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print one line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class PkiServices:
    """The running services and the files a test needs to sign and verify with them."""

    base_url: str
    """Address of the loopback server, e.g. http://127.0.0.1:40123."""

    trust_root: Path
    """PEM file of the test root CA, the trust anchor for verification."""

    signer_p12: Path
    """PKCS#12 of a signer in good standing (passphrase TEST_PASSPHRASE)."""

    revoked_signer_p12: Path
    """PKCS#12 of a signer whose certificate was revoked yesterday."""

    root_der: bytes
    """DER of the root CA certificate."""

    _switchboard: _Switchboard

    @property
    def tsa_url(self) -> str:
        """URL of the RFC 3161 timestamp authority."""
        return f"{self.base_url}/{ARCH}/tsa/tsa"

    @property
    def root(self) -> asn1_x509.Certificate:
        """The root CA certificate as an asn1crypto object."""
        return asn1_x509.Certificate.load(self.root_der)

    def hits(self, service: str) -> int:
        """How many requests ``service`` ("tsa", "ocsp" or "crls") has received so far."""
        with self._switchboard.lock:
            return self._switchboard.hits.get(service, 0)

    @contextmanager
    def outage(self, *services: str) -> Iterator[None]:
        """Answer 503 for the given services ("tsa", "ocsp", "crls") inside the block."""
        unknown = set(services) - set(_SERVICES)
        if unknown:
            raise ValueError(f"unknown services: {sorted(unknown)}")
        with self._switchboard.lock:
            self._switchboard.down.update(services)
        try:
            yield
        finally:
            with self._switchboard.lock:
                self._switchboard.down.difference_update(services)


def free_loopback_url() -> str:
    """Return the address of a loopback port nobody listens on (connections are refused)."""
    server = make_server("127.0.0.1", 0, _Switchboard())
    port = server.port
    server.server_close()
    return f"http://127.0.0.1:{port}"


@contextmanager
def running_pki_services(dest: Path, *, now: dt.datetime | None = None) -> Iterator[PkiServices]:
    """Generate a PKI under ``dest``, serve its OCSP, CRL and TSA on loopback, stop on exit.

    The root CA issues the signer certificates (OCSP and CRL addresses inside),
    an OCSP responder certificate and a TSA certificate. Keys are RSA-2048, made
    fresh each time; certificates are valid from 30 days ago for two years.
    """
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    switchboard = _Switchboard()
    server = make_server("127.0.0.1", 0, switchboard, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=_serve, args=(server,), name="pki-services", daemon=True)
    try:
        base_url = f"http://127.0.0.1:{server.port}"
        keys_dir = dest / "keys"
        keys_dir.mkdir(parents=True, exist_ok=True)
        private = {label: _write_key(keys_dir / f"{label}.pem") for label in _KEYS}
        config = CertomancerConfig(
            _config(now), key_search_dir=str(dest), external_url_prefix=base_url
        )
        arch = config.get_pki_arch(ArchLabel(ARCH))
        switchboard.app = Animator(AnimatorArchStore({arch.arch_label: arch}), with_web_ui=False)
        root = arch.get_cert(CertLabel("root"))
        trust_root = dest / "root.pem"
        trust_root.write_bytes(_pem(root))
        services = PkiServices(
            base_url=base_url,
            trust_root=trust_root,
            signer_p12=_write_p12(
                dest / "signer.p12", TEST_SIGNER, private["signer"], arch, "signer", root
            ),
            revoked_signer_p12=_write_p12(
                dest / "revoked.p12", REVOKED_SIGNER, private["revoked"], arch, "revoked", root
            ),
            root_der=root.dump(),
            _switchboard=switchboard,
        )
        thread.start()
        yield services
    finally:
        if thread.is_alive():
            server.shutdown()
            thread.join(timeout=10)
        server.server_close()


def _serve(server: BaseWSGIServer) -> None:
    server.serve_forever(poll_interval=0.05)


def _write_key(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def _pem(cert: asn1_x509.Certificate) -> bytes:
    return x509.load_der_x509_certificate(cert.dump()).public_bytes(serialization.Encoding.PEM)


def _write_p12(
    path: Path,
    name: str,
    key: rsa.RSAPrivateKey,
    arch: PKIArchitecture,
    label: str,
    root: asn1_x509.Certificate,
) -> Path:
    cert = x509.load_der_x509_certificate(arch.get_cert(CertLabel(label)).dump())
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name=name.encode(),
            key=key,
            cert=cert,
            cas=[x509.load_der_x509_certificate(root.dump())],
            encryption_algorithm=serialization.BestAvailableEncryption(TEST_PASSPHRASE),
        )
    )
    return path


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _config(now: dt.datetime) -> dict[str, Any]:
    valid = {
        "valid-from": _when(now - dt.timedelta(days=30)),
        "valid-to": _when(now + dt.timedelta(days=730)),
    }
    signer_extensions = [
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {
                "schema": "key-usage",
                "params": ["digital_signature", "non_repudiation"],
            },
        },
        {
            "id": "crl_distribution_points",
            "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
        },
        {
            "id": "authority_information_access",
            "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["root"]}},
        },
    ]
    return {
        "keysets": {
            "test": {
                "path-prefix": "keys",
                "keys": {label: {"path": f"{label}.pem"} for label in _KEYS},
            }
        },
        "pki-architectures": {
            ARCH: {
                "keyset": "test",
                "entity-defaults": {"country-name": "VN", "organization-name": TEST_OFFICE},
                "entities": {
                    "root": {"common-name": "motcua TEST Root CA"},
                    "tsa": {"common-name": "motcua TEST TSA"},
                    "ocsp": {"common-name": "motcua TEST OCSP"},
                    "signer": {"common-name": TEST_SIGNER},
                    "revoked": {"common-name": REVOKED_SIGNER},
                },
                "certs": {
                    "root": {
                        "subject": "root",
                        "subject-key": "root",
                        "issuer": "root",
                        "authority-key": "root",
                        "validity": {
                            "valid-from": _when(now - dt.timedelta(days=365)),
                            "valid-to": _when(now + dt.timedelta(days=3650)),
                        },
                        "extensions": [
                            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {
                                    "schema": "key-usage",
                                    "params": ["digital_signature", "key_cert_sign", "crl_sign"],
                                },
                            },
                        ],
                    },
                    "ocsp": {
                        "issuer": "root",
                        "validity": valid,
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {
                                    "schema": "key-usage",
                                    "params": ["digital_signature"],
                                },
                            },
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["ocsp_signing"],
                            },
                            {"id": "ocsp_no_check"},
                        ],
                    },
                    "tsa": {
                        "issuer": "root",
                        "validity": valid,
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {
                                    "schema": "key-usage",
                                    "params": ["digital_signature"],
                                },
                            },
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["time_stamping"],
                            },
                            {
                                "id": "crl_distribution_points",
                                "smart-value": {
                                    "schema": "crl-dist-url",
                                    "params": {"crl-repo-names": ["root"]},
                                },
                            },
                        ],
                    },
                    "signer": {
                        "subject": "signer",
                        "issuer": "root",
                        "validity": valid,
                        "extensions": signer_extensions,
                    },
                    "revoked": {
                        "subject": "revoked",
                        "issuer": "root",
                        "validity": valid,
                        "extensions": signer_extensions,
                        "revocation": {
                            "revoked-since": _when(now - dt.timedelta(days=1)),
                            "reason": "key_compromise",
                        },
                    },
                },
                "services": {
                    "ocsp": {
                        "root": {
                            "for-issuer": "root",
                            "responder-cert": "ocsp",
                            "signing-key": "ocsp",
                        }
                    },
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P7D",
                        }
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }
