"""The emulator's Flask application: the REST API, the widget and the control API side by side."""

from __future__ import annotations

import uuid

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from kco_emulator.api import api
from kco_emulator.control import control
from kco_emulator.store import EmulatorState, Settings
from kco_emulator.widget import widget

API_PREFIXES = ("/checkout/", "/ordermanagement/")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False  # keep the key order of real KCO bodies (kco-rules: order-fields)
    app.config["KCO_STATE"] = EmulatorState(settings)
    app.config["KCO_WIDGET_BASE_URL"] = (settings.public_url or "").rstrip("/")
    app.register_blueprint(api)
    app.register_blueprint(widget)
    app.register_blueprint(control)

    @app.before_request
    def correlation_id() -> None:
        g.correlation_id = str(uuid.uuid4())

    @app.after_request
    def correlation_header(response: Response) -> Response:
        # On every response; error bodies carry the same value (kco-rules: error-body).
        response.headers["Klarna-Correlation-Id"] = g.get("correlation_id") or str(uuid.uuid4())
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        if request.path.startswith(API_PREFIXES):
            body = {"error_code": (error.name or "ERROR").upper().replace(" ", "_"),
                    "error_messages": [error.description or error.name],
                    "correlation_id": g.get("correlation_id")}
        else:
            body = {"error": {"code": (error.name or "error").lower().replace(" ", "_"),
                              "message": error.description or error.name}}
        response = jsonify(body)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            # A 405 names the methods the resource has (RFC 9110, section 15.5.6).
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response, status

    return app
