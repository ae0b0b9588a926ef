"""Who may talk to the service: loopback by default, CURVE when it binds beyond the machine.

A service that binds an address other than loopback (or ipc://) without CURVE would let anyone on the network drive
it, so that is refused unless the user says --insecure. With CURVE every socket is a CURVE server using the
service's secret key, and a ZAP authenticator admits only clients whose public keys lie in the clients folder.
`footfall keys` makes the key pairs (ZeroMQ's certificate files).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


class SecurityError(ValueError):
    """The endpoints or keys do not allow a safe start; the message says what to do."""


def is_local(endpoint: str) -> bool:
    """ipc:// and inproc:// endpoints, and tcp:// on a loopback address."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    if not endpoint.startswith("tcp://"):
        return False
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", an interface name or a host name


def check_endpoints(endpoints: list[str], curve: bool, insecure: bool) -> None:
    remote = [e for e in endpoints if not is_local(e)]
    if remote and not curve and not insecure:
        raise SecurityError(f"{remote[0]}: binding beyond loopback needs CURVE ([serve] curve_secret_key and "
                            f"curve_clients, see footfall keys) or --insecure")


def check_vmc(address: str, curve: bool, insecure: bool) -> None:
    """VMC (OSC over UDP) has no authentication: loopback only unless --insecure, and not beside CURVE."""
    if curve:
        raise SecurityError(f"udp://{address}: VMC has no authentication; it cannot run beside CURVE")
    if not is_local(f"tcp://{address}") and not insecure:
        raise SecurityError(f"udp://{address}: VMC beyond loopback has no authentication; give --insecure to allow it")


@dataclass(frozen=True)
class CurveKeys:
    public: bytes
    secret: bytes


def load_secret(path: str | Path) -> CurveKeys:
    path = Path(path)
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise SecurityError(f"{path}: cannot read a CURVE secret key file ({exc})") from None
    if secret is None:
        raise SecurityError(f"{path}: holds only a public key; give the .key_secret file")
    return CurveKeys(public, secret)


def load_public(path: str | Path) -> bytes:
    path = Path(path)
    try:
        return zmq.auth.load_certificate(path)[0]
    except (OSError, ValueError) as exc:
        raise SecurityError(f"{path}: cannot read a CURVE public key file ({exc})") from None


def start_authenticator(ctx: zmq.Context, clients: str | Path) -> ThreadAuthenticator:
    folder = Path(clients)
    if not folder.is_dir():
        raise SecurityError(f"{folder}: the CURVE clients folder (public .key files of allowed clients) is missing")
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=str(folder))
    return auth


def make_server(socket: zmq.Socket, keys: CurveKeys) -> None:
    socket.curve_server = True
    socket.curve_publickey = keys.public
    socket.curve_secretkey = keys.secret


def make_client(socket: zmq.Socket, keys: CurveKeys, server_public: bytes) -> None:
    socket.curve_publickey = keys.public
    socket.curve_secretkey = keys.secret
    socket.curve_serverkey = server_public


def create_keys(folder: str | Path, name: str) -> tuple[Path, Path]:
    """NAME.key (public: give it to the other side) and NAME.key_secret (keep it) in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".key", ".key_secret"):
        if (folder / f"{name}{suffix}").exists():
            raise SecurityError(f"{folder / (name + suffix)}: exists; keys are never overwritten")
    public, secret = zmq.auth.create_certificates(str(folder), name)
    return Path(public), Path(secret)
