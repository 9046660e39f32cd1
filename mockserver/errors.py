"""The one exception type of the mock: an XRPC error with its name, message and status."""

from __future__ import annotations


class XrpcError(Exception):
    """An error answered as an XRPC body ``{"error": name, "message": message}``."""

    def __init__(self, error: str, message: str, status: int = 400) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error
        self.message = message
        self.status = status
        self.did: str | None = None
        """For a refused token whose signature held (expired, revoked, wrong scope): whose it is,
        so the journal names the caller and a replay can refuse the same account the same way."""

    def body(self) -> dict[str, str]:
        """The XRPC error body."""
        return {"error": self.error, "message": self.message}


def invalid_request(message: str) -> XrpcError:
    """400 ``InvalidRequest``: the request itself is malformed."""
    return XrpcError("InvalidRequest", message, 400)


def auth_required(message: str = "Authentication required") -> XrpcError:
    """401 ``AuthenticationRequired``."""
    return XrpcError("AuthenticationRequired", message, 401)


def invalid_token(message: str) -> XrpcError:
    """401 ``InvalidToken``."""
    return XrpcError("InvalidToken", message, 401)


def expired_token(message: str = "Token has expired") -> XrpcError:
    """401 ``ExpiredToken``."""
    return XrpcError("ExpiredToken", message, 401)


def not_found(message: str) -> XrpcError:
    """404 ``NotFound`` (admin API)."""
    return XrpcError("NotFound", message, 404)
