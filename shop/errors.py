"""The one error the shop raises towards browsers and API callers; app.py turns it into JSON.

Shape (contracts): `{"error": {"code": "...", "message": "..."}}` plus optional extra keys such as the cart
the server holds, so the page can return to the server's truth.
"""

from __future__ import annotations

from typing import Any


class ShopError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}, **self.extra}
