"""Keep a user script's network traffic on this machine.

The tests talk only to servers they started on 127.0.0.1. Importing this module
makes every name lookup or connection to any other host fail, and records the
host in ``BLOCKED_HOSTS``. At exit the list is printed as a
``BLOCKED_HOSTS=<json>`` line so that a test can check that nothing tried to
leave the machine.
"""

import atexit
import ipaddress
import json
import socket

BLOCKED_HOSTS = []

_original_getaddrinfo = socket.getaddrinfo
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _is_loopback(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reject(host):
    BLOCKED_HOSTS.append(str(host))
    raise OSError(f"loopback_guard: blocked connection to non-loopback host {host!r}")


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and not _is_loopback(host):
        _reject(host)
    return _original_getaddrinfo(host, *args, **kwargs)


def _check_address(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        _reject(address[0])


def _guarded_connect(self, address):
    _check_address(self, address)
    return _original_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _original_connect_ex(self, address)


def _print_blocked_hosts():
    print("BLOCKED_HOSTS=" + json.dumps(BLOCKED_HOSTS), flush=True)


socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
# Registered before the SDK's own exit handlers, so it runs after them.
atexit.register(_print_blocked_hosts)
