"""The KCO HTTP client against recorded answer shapes: successes, KCO errors, dead networks, retries.

`responses` stands in for KCO so every failure shape (kco-rules: error-body) can be produced exactly; one test
uses a real closed local port for "connection refused".
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import requests
import responses

from kco import __version__
from kco.client import (
    KLARNA_BRAND_REFUSED,
    KUSTOM_HOSTS,
    ClientConfig,
    KCOCall,
    KCOClient,
    host_of,
    location_names_order,
    sleep_within_budget,
    time_budget,
)
from kco.errors import KCOApiError, KCOConfigError, KCOError, KCOProtocolError, KCOUnreachable

HOST = "api.playground.kustom.co"
BASE = f"https://{HOST}"
ORDER_ID = "8cf27b55-53e8-6aba-9fb4-7c692e56ddee"
ORDER_URL = f"{BASE}/checkout/v3/orders/{ORDER_ID}"
OM_URL = f"{BASE}/ordermanagement/v1/orders/{ORDER_ID}"
PASSWORD = "s3cret-shared-Pa55word"
API_KEY = "kco_test_api_not-a-real-key-client"
ORDER = {"order_id": ORDER_ID, "status": "checkout_incomplete", "html_snippet": "<div></div>"}
CREATE_BODY = {"purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-SE",
               "order_amount": 10000, "order_tax_amount": 2000, "order_lines": []}
HTML_401 = "<html><head><title>401 Authorization Required</title></head><body>nginx</body></html>"
HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"


class Recorder:
    """Collects `on_call` reports and the backoff delays the client asked for (so tests never sleep)."""

    def __init__(self) -> None:
        self.calls: list[KCOCall] = []
        self.sleeps: list[float] = []


@pytest.fixture
def kco_api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_client(recorder: Recorder, **config: object) -> KCOClient:
    settings = {"base_url": BASE, "username": "M123-test", "password": PASSWORD, **config}
    return KCOClient(ClientConfig(**settings), on_call=recorder.calls.append, sleep=recorder.sleeps.append)


@pytest.fixture
def client(recorder: Recorder) -> KCOClient:
    return make_client(recorder)


# --- Each operation's success ------------------------------------------------------------------------------

def test_create_posts_json_and_returns_the_new_order(kco_api, client, recorder):
    kco_api.post(f"{BASE}/checkout/v3/orders", json=ORDER, status=201, headers={"Location": ORDER_URL})

    assert client.create_order(CREATE_BODY) == ORDER

    sent = kco_api.calls[0].request
    assert json.loads(sent.body) == CREATE_BODY
    assert sent.headers["Content-Type"] == "application/json"
    token = base64.b64encode(f"M123-test:{PASSWORD}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {token}"
    assert sent.req_kwargs["timeout"] == (3.05, 10.0)
    assert [(c.operation, c.method, c.path, c.status, c.error) for c in recorder.calls] == [
        ("create", "POST", "/checkout/v3/orders", 201, None)
    ]


def test_create_without_location_header_is_a_protocol_error(kco_api, client):
    kco_api.post(f"{BASE}/checkout/v3/orders", json=ORDER, status=201)
    with pytest.raises(KCOProtocolError, match="Location"):
        client.create_order(CREATE_BODY)


def test_create_whose_location_names_another_order_is_a_protocol_error(kco_api, client):
    kco_api.post(f"{BASE}/checkout/v3/orders", json=ORDER, status=201,
                 headers={"Location": f"{BASE}/checkout/v3/orders/some-other-id"})
    with pytest.raises(KCOProtocolError, match="is not the URL of order_id"):
        client.create_order(CREATE_BODY)


def test_create_answered_with_200_instead_of_201_is_a_protocol_error(kco_api, client):
    # checkout-v3-openapi.yml createOrderMerchant documents 201 (an older spec said 200; kco-rules:
    # status-codes); the client insists on 201.
    kco_api.post(f"{BASE}/checkout/v3/orders", json=ORDER, status=200, headers={"Location": ORDER_URL})
    with pytest.raises(KCOProtocolError, match="expected 201"):
        client.create_order(CREATE_BODY)


def test_create_with_a_non_json_body_is_a_protocol_error(kco_api, client):
    kco_api.post(f"{BASE}/checkout/v3/orders", body="<html>ok</html>", status=201,
                 headers={"Location": ORDER_URL})
    with pytest.raises(KCOProtocolError, match="not JSON"):
        client.create_order(CREATE_BODY)


def test_read_gets_the_order(kco_api, client, recorder):
    kco_api.get(ORDER_URL, json=ORDER, headers={"Klarna-Correlation-Id": "corr-read"})
    assert client.read_order(ORDER_ID) == ORDER
    assert kco_api.calls[0].request.method == "GET"
    assert recorder.calls[0].correlation_id == "corr-read"
    assert recorder.calls[0].order_id == ORDER_ID


def test_update_posts_only_the_changes(kco_api, client):
    kco_api.post(ORDER_URL, json={**ORDER, "locale": "en-SE"})
    assert client.update_order(ORDER_ID, {"locale": "en-SE"})["locale"] == "en-SE"
    assert json.loads(kco_api.calls[0].request.body) == {"locale": "en-SE"}


def test_an_order_id_cannot_escape_its_path_segment(kco_api, client):
    kco_api.get(f"{BASE}/checkout/v3/orders/..%2Fabort%3Fx%3D1", json=ORDER)
    client.read_order("../abort?x=1")
    assert kco_api.calls[0].request.path_url == "/checkout/v3/orders/..%2Fabort%3Fx%3D1"


@pytest.mark.parametrize("order_id", ["", ".", ".."])
def test_an_order_id_that_a_url_resolves_away_is_refused_before_any_call(kco_api, client, order_id):
    # requests sends read_order("..") as GET /checkout/v3/ and acknowledge_order(".") to
    # /ordermanagement/v1/orders/acknowledge: another path, with the merchant's credentials.
    with pytest.raises(ValueError, match="is not an order id"):
        client.read_order(order_id)
    with pytest.raises(ValueError, match="is not an order id"):
        client.acknowledge_order(order_id)
    assert len(kco_api.calls) == 0


def test_abort_posts_to_the_abort_path(kco_api, client):
    kco_api.post(f"{ORDER_URL}/abort", json=ORDER)
    assert client.abort_order(ORDER_ID) == ORDER


def test_abort_with_an_empty_body_returns_an_empty_order(kco_api, client):
    kco_api.post(f"{ORDER_URL}/abort", body="", status=200)
    assert client.abort_order(ORDER_ID) == {}


def test_read_om_order_gets_the_order_management_order(kco_api, client, recorder):
    kco_api.get(OM_URL, json={"order_id": ORDER_ID, "status": "AUTHORIZED"})
    assert client.read_om_order(ORDER_ID)["status"] == "AUTHORIZED"
    assert recorder.calls[0].operation == "om_read"


def test_acknowledge_posts_no_body_with_a_uuid4_idempotency_key(kco_api, client):
    kco_api.post(f"{OM_URL}/acknowledge", status=204)
    assert client.acknowledge_order(ORDER_ID) is None
    sent = kco_api.calls[0].request
    assert not sent.body
    assert uuid.UUID(sent.headers["Klarna-Idempotency-Key"]).version == 4


def test_acknowledge_uses_the_callers_idempotency_key(kco_api, client):
    kco_api.post(f"{OM_URL}/acknowledge", status=204)
    client.acknowledge_order(ORDER_ID, idempotency_key="push-8cf27b55")
    assert kco_api.calls[0].request.headers["Klarna-Idempotency-Key"] == "push-8cf27b55"


# --- KCO error answers (kco-rules: error-body, kco-rules: error-codes) -------------------------------------

def test_bad_value_keeps_code_messages_and_correlation_id(kco_api, client):
    kco_api.post(f"{BASE}/checkout/v3/orders", status=400, json={
        "error_code": "BAD_VALUE", "error_messages": ["Bad value: order_amount"],
        "correlation_id": "corr-400"})
    with pytest.raises(KCOApiError) as raised:
        client.create_order(CREATE_BODY)
    error = raised.value
    assert (error.status, error.error_code, error.error_messages, error.correlation_id, error.operation) == (
        400, "BAD_VALUE", ["Bad value: order_amount"], "corr-400", "create")
    assert "Bad value: order_amount" in str(error)
    assert not error.is_read_only_order


def test_html_401_page_becomes_an_api_error_with_the_header_correlation_id(kco_api, client):
    kco_api.get(ORDER_URL, status=401, body=HTML_401, content_type="text/html",
                headers={"Klarna-Correlation-Id": "corr-401"})
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    error = raised.value
    assert (error.status, error.error_code, error.correlation_id) == (401, None, "corr-401")
    assert error.error_messages == ["Unauthorized (text/html body, not JSON)"]
    assert len(kco_api.calls) == 1


def test_read_only_order_is_recognised_and_update_is_not_retried(kco_api, client):
    kco_api.post(ORDER_URL, status=403, json={
        "error_code": "READ_ONLY_ORDER", "error_messages": ["Resource is read-only"],
        "correlation_id": "corr-403"})
    with pytest.raises(KCOApiError) as raised:
        client.update_order(ORDER_ID, {"locale": "en-SE"})
    assert raised.value.is_read_only_order
    assert len(kco_api.calls) == 1


def test_403_without_read_only_code_is_not_read_only(kco_api, client):
    kco_api.get(ORDER_URL, status=403, json={"error_code": "NOT_ALLOWED"})
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    assert not raised.value.is_read_only_order


def test_404_with_an_empty_body_is_an_api_error_and_not_retried(kco_api, client):
    kco_api.get(ORDER_URL, status=404, body="")
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    error = raised.value
    assert (error.status, error.error_code, error.correlation_id) == (404, None, None)
    assert error.error_messages == ["Not Found (empty body)"]
    assert len(kco_api.calls) == 1


def test_500_json_error_is_reported_and_not_retried(kco_api, client, recorder):
    kco_api.get(ORDER_URL, status=500, json={"error_code": "INTERNAL_ERROR",
                                             "error_message": "Something broke", "correlation_id": "c-500"})
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    assert (raised.value.error_code, raised.value.error_messages) == ("INTERNAL_ERROR", ["Something broke"])
    assert len(kco_api.calls) == 1 and recorder.sleeps == []


def test_503_json_on_read_is_retried_then_reported(kco_api, client, recorder):
    kco_api.get(ORDER_URL, status=503, json={"error_code": "SERVICE_UNAVAILABLE", "correlation_id": "c-503"})
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    assert (raised.value.status, raised.value.error_code) == (503, "SERVICE_UNAVAILABLE")
    assert len(kco_api.calls) == 3
    assert recorder.sleeps == [0.25, 0.5]
    assert [call.error for call in recorder.calls] == ["HTTP 503"] * 3


def test_503_html_on_read_then_success_returns_the_order(kco_api, client, recorder):
    kco_api.get(ORDER_URL, status=503, body="<html>Service Unavailable</html>", content_type="text/html")
    kco_api.get(ORDER_URL, json=ORDER)
    assert client.read_order(ORDER_ID) == ORDER
    assert len(kco_api.calls) == 2
    assert recorder.sleeps == [0.25]


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_errors_on_om_read_are_retried(kco_api, client, status):
    kco_api.get(OM_URL, status=status, body=HTML_502, content_type="text/html")
    kco_api.get(OM_URL, json={"order_id": ORDER_ID})
    assert client.read_om_order(ORDER_ID) == {"order_id": ORDER_ID}
    assert len(kco_api.calls) == 2


def test_502_html_on_read_keeps_failing_and_says_it_was_html(kco_api, client):
    kco_api.get(ORDER_URL, status=502, body=HTML_502, content_type="text/html")
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    assert raised.value.error_messages == ["Bad Gateway (text/html body, not JSON)"]
    assert len(kco_api.calls) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_create_is_never_retried_because_a_retry_could_duplicate_the_order(kco_api, client, recorder, status):
    kco_api.post(f"{BASE}/checkout/v3/orders", status=status, body="")
    with pytest.raises(KCOApiError):
        client.create_order(CREATE_BODY)
    assert len(kco_api.calls) == 1 and recorder.sleeps == []


def test_update_is_never_retried_on_a_gateway_error(kco_api, client):
    kco_api.post(ORDER_URL, status=503, body="")
    with pytest.raises(KCOApiError):
        client.update_order(ORDER_ID, {"locale": "en-SE"})
    assert len(kco_api.calls) == 1


def test_a_redirect_is_not_followed_so_credentials_stay_with_kco(kco_api, client):
    kco_api.get(ORDER_URL, status=302, headers={"Location": "https://elsewhere.example/steal"})
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    assert raised.value.status == 302
    assert [call.request.url for call in kco_api.calls] == [ORDER_URL]


def test_create_is_never_retried_after_a_connection_error(kco_api, client):
    kco_api.post(f"{BASE}/checkout/v3/orders", body=requests.exceptions.ConnectionError("reset"))
    with pytest.raises(KCOUnreachable):
        client.create_order(CREATE_BODY)
    assert len(kco_api.calls) == 1


# --- No answer at all -------------------------------------------------------------------------------------

def test_read_timeout_is_unreachable_sent_and_not_retried(kco_api, client, recorder):
    kco_api.get(ORDER_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(KCOUnreachable) as raised:
        client.read_order(ORDER_ID)
    assert raised.value.operation == "read"
    assert raised.value.request_sent
    assert "10.00 s" in str(raised.value)
    assert len(kco_api.calls) == 1
    assert [(call.status, call.error) for call in recorder.calls] == [(None, f"read timeout ({HOST})")]


def test_a_connect_timeout_on_read_is_no_connection_and_retried(kco_api, client, recorder):
    # requests' ConnectTimeout is also a Timeout: it must not be taken for a read timeout (request sent).
    kco_api.get(ORDER_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    kco_api.get(ORDER_URL, json=ORDER)
    assert client.read_order(ORDER_ID) == ORDER
    assert [(call.status, call.error) for call in recorder.calls] == [(None, f"connect timeout ({HOST})"),
                                                                      (200, None)]
    assert recorder.sleeps == [0.25]


def test_a_connect_timeout_every_time_is_unreachable_before_anything_was_sent(kco_api, client, recorder):
    kco_api.get(ORDER_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(KCOUnreachable) as raised:
        client.read_order(ORDER_ID)
    assert not raised.value.request_sent
    assert raised.value.reason == f"connect timeout ({HOST})"
    assert len(kco_api.calls) == 3


def test_connection_errors_on_read_are_retried_with_bounded_backoff(kco_api, client, recorder):
    kco_api.get(ORDER_URL, body=requests.exceptions.ConnectionError("connection reset"))
    with pytest.raises(KCOUnreachable) as raised:
        client.read_order(ORDER_ID)
    assert not raised.value.request_sent
    assert len(kco_api.calls) == 3
    assert recorder.sleeps == [0.25, 0.5]


def test_backoff_doubles_but_never_exceeds_two_seconds(kco_api, recorder):
    client = make_client(recorder, max_attempts=6, backoff_seconds=0.5)
    kco_api.get(ORDER_URL, status=503, body="")
    with pytest.raises(KCOApiError):
        client.read_order(ORDER_ID)
    assert recorder.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_connection_refused_on_a_real_closed_port_is_unreachable(recorder):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client(recorder, base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(KCOUnreachable) as raised:
        client.read_order(ORDER_ID)
    assert raised.value.operation == "read"
    assert "connection refused (127.0.0.1)" in str(raised.value)
    assert [call.status for call in recorder.calls] == [None, None, None]


# --- Acknowledge retries ----------------------------------------------------------------------------------

def test_acknowledge_retries_with_the_same_idempotency_key(kco_api, client, recorder):
    kco_api.post(f"{OM_URL}/acknowledge", status=503, body="")
    kco_api.post(f"{OM_URL}/acknowledge", body=requests.exceptions.ConnectionError("reset"))
    kco_api.post(f"{OM_URL}/acknowledge", status=204)
    client.acknowledge_order(ORDER_ID)
    keys = [call.request.headers["Klarna-Idempotency-Key"] for call in kco_api.calls]
    assert len(keys) == 3 and len(set(keys)) == 1
    assert recorder.sleeps == [0.25, 0.5]


def test_acknowledge_read_timeout_is_left_to_the_next_push_not_retried(kco_api, client):
    kco_api.post(f"{OM_URL}/acknowledge", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(KCOUnreachable) as raised:
        client.acknowledge_order(ORDER_ID)
    assert raised.value.request_sent
    assert len(kco_api.calls) == 1


def test_separate_acknowledge_calls_get_separate_keys(kco_api, client):
    kco_api.post(f"{OM_URL}/acknowledge", status=204)
    client.acknowledge_order(ORDER_ID)
    client.acknowledge_order(ORDER_ID)
    first, second = (call.request.headers["Klarna-Idempotency-Key"] for call in kco_api.calls)
    assert first != second


def test_acknowledge_not_allowed_is_not_retried(kco_api, client):
    kco_api.post(f"{OM_URL}/acknowledge", status=403, json={"error_code": "NOT_ALLOWED",
                                                           "error_messages": ["Not allowed"]})
    with pytest.raises(KCOApiError) as raised:
        client.acknowledge_order(ORDER_ID)
    assert (raised.value.status, raised.value.error_code) == (403, "NOT_ALLOWED")
    assert len(kco_api.calls) == 1


# --- Logging, hook, headers -------------------------------------------------------------------------------

def test_credentials_never_reach_logs_calls_or_errors(kco_api, recorder, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    basic_client = make_client(recorder)
    key_client = make_client(recorder, username=None, password=None, api_key=API_KEY)
    kco_api.get(ORDER_URL, json=ORDER, headers={"Klarna-Correlation-Id": "corr-ok"})
    kco_api.post(ORDER_URL, status=401, body=HTML_401, content_type="text/html")
    kco_api.get(OM_URL, body=requests.exceptions.ConnectionError("refused"))
    failures: list[KCOError] = []
    for kco_client in (basic_client, key_client):
        kco_client.read_order(ORDER_ID)
        for attempt in (lambda c=kco_client: c.update_order(ORDER_ID, {}),
                        lambda c=kco_client: c.read_om_order(ORDER_ID)):
            with pytest.raises(KCOError) as raised:
                attempt()
            failures.append(raised.value)

    token = base64.b64encode(f"M123-test:{PASSWORD}".encode()).decode()
    evidence = "\n".join([caplog.text, *map(repr, recorder.calls), *map(str, failures),
                          repr(basic_client.config), repr(key_client.config)])
    for secret in (PASSWORD, token, API_KEY):
        assert secret not in evidence
    # What the log does say: method, path, status, duration and correlation id.
    assert re.search(rf"GET /checkout/v3/orders/{ORDER_ID} -> 200 in [\d.]+ ms .*correlation_id=corr-ok",
                     caplog.text)
    assert all(record.name == "kco" for record in caplog.records if "KCO " in record.getMessage())


def test_api_key_is_sent_verbatim_after_basic(kco_api, recorder):
    client = make_client(recorder, username=None, password=None, api_key=API_KEY)
    kco_api.get(ORDER_URL, json=ORDER)
    client.read_order(ORDER_ID)
    assert kco_api.calls[0].request.headers["Authorization"] == f"Basic {API_KEY}"


def test_emulator_without_credentials_gets_no_authorization_header(kco_api, recorder):
    client = make_client(recorder, base_url="http://127.0.0.1:5001", username=None, password=None)
    kco_api.get(f"http://127.0.0.1:5001/checkout/v3/orders/{ORDER_ID}", json=ORDER)
    client.read_order(ORDER_ID)
    assert "Authorization" not in kco_api.calls[0].request.headers


def test_user_agent_is_built_from_library_http_os_and_language_parts(kco_api, client):
    kco_api.get(ORDER_URL, json=ORDER)
    client.read_order(ORDER_ID)
    agent = kco_api.calls[0].request.headers["User-Agent"]
    pattern = (
        rf"Library/kco-python-reference_{re.escape(__version__)} "
        rf"\(requests/{re.escape(requests.__version__)}\) OS/[^ ]+_[^ ]+ Language/Python_3\.\d+\.\d+"
    )
    assert re.fullmatch(pattern, agent), agent


def test_user_agent_can_be_overridden(kco_api, recorder):
    client = make_client(recorder, user_agent="MyShop/2.0 kco-reference/0.1.0")
    kco_api.get(ORDER_URL, json=ORDER)
    client.read_order(ORDER_ID)
    assert kco_api.calls[0].request.headers["User-Agent"] == "MyShop/2.0 kco-reference/0.1.0"


def test_a_failing_on_call_hook_does_not_change_the_result(kco_api, caplog):
    def broken_hook(call: KCOCall) -> None:
        raise RuntimeError("inspector is down")

    client = KCOClient(ClientConfig(base_url=BASE, username="u", password=PASSWORD), on_call=broken_hook)
    kco_api.get(ORDER_URL, json=ORDER)
    assert client.read_order(ORDER_ID) == ORDER
    assert [record.getMessage() for record in caplog.records] == ["on_call hook failed"]


def test_each_reported_call_says_when_it_was_sent_on_the_wall_clock(kco_api, recorder, monkeypatch):
    # The client's clocks, made exact: the answer comes 0.5 s after the request went out, at 1000.0 s.
    counter_readings = [10.0, 10.5]
    monkeypatch.setattr("kco.client.time", SimpleNamespace(
        perf_counter=lambda: counter_readings.pop(0), time=lambda: 1000.0,
        monotonic=time.monotonic, sleep=time.sleep))
    kco_api.get(ORDER_URL, json=ORDER)
    make_client(recorder).read_order(ORDER_ID)
    [call] = recorder.calls
    assert (call.started_at, call.duration_ms) == (999.5, 500.0)


def test_host_of_reads_the_host_name_in_lower_case_and_nothing_from_a_url_without_one():
    assert host_of("https://API.Playground.kustom.co/checkout/v3/orders") == "api.playground.kustom.co"
    assert host_of("http://127.0.0.1:5001") == "127.0.0.1"
    assert host_of("/checkout/v3/orders") == ""


# --- Configuration from the environment ------------------------------------------------------------------

CREDENTIALS = {"KCO_USERNAME": "M123-test", "KCO_PASSWORD": PASSWORD}


def test_explicit_api_url_wins_and_loses_its_trailing_slash():
    config = ClientConfig.from_env({"KCO_API_URL": "https://api.kustom.co/", "KCO_ENVIRONMENT": "playground",
                                    **CREDENTIALS})
    assert config.base_url == "https://api.kustom.co"
    assert not config.is_local


@pytest.mark.parametrize("region", ["eu", "na", "oc"])
@pytest.mark.parametrize("environment", sorted(KUSTOM_HOSTS))
def test_environment_picks_the_documented_kustom_host_whatever_the_region(region, environment):
    config = ClientConfig.from_env({"KCO_REGION": region, "KCO_ENVIRONMENT": environment, **CREDENTIALS})
    assert config.base_url == KUSTOM_HOSTS[environment]
    assert (".playground." in config.base_url) is (environment == "playground")


def test_brand_defaults_to_kustom_and_region_to_eu():
    assert ClientConfig.from_env({"KCO_ENVIRONMENT": "live", **CREDENTIALS}).base_url == "https://api.kustom.co"
    config = ClientConfig.from_env({"KCO_ENVIRONMENT": "Playground", "KCO_REGION": "NA", **CREDENTIALS})
    assert config.base_url == "https://api.playground.kustom.co"  # Kustom: one host for every region


@pytest.mark.parametrize(("environ", "variable"), [
    ({}, "KCO_ENVIRONMENT"),
    ({"KCO_ENVIRONMENT": "production"}, "KCO_ENVIRONMENT"),
    ({"KCO_ENVIRONMENT": "live", "KCO_REGION": "asia"}, "KCO_REGION"),
    ({"KCO_ENVIRONMENT": "live", "KCO_BRAND": "stripe"}, "KCO_BRAND"),
    ({"KCO_API_URL": "api.kustom.co"}, "KCO_API_URL"),
    ({"KCO_API_URL": "http://api.kustom.co"}, "KCO_API_URL"),
    ({"KCO_ENVIRONMENT": "live", "KCO_CONNECT_TIMEOUT": "fast"}, "KCO_CONNECT_TIMEOUT"),
    ({"KCO_ENVIRONMENT": "live", "KCO_READ_TIMEOUT": "0"}, "KCO_READ_TIMEOUT"),
])
def test_bad_configuration_names_the_variable(environ, variable):
    with pytest.raises(KCOConfigError, match=variable):
        ClientConfig.from_env({**CREDENTIALS, **environ})


def test_real_host_without_credentials_fails_naming_the_variables():
    with pytest.raises(KCOConfigError) as raised:
        ClientConfig.from_env({"KCO_ENVIRONMENT": "playground"})
    message = str(raised.value)
    assert "KCO_USERNAME" in message and "KCO_PASSWORD" in message and "KCO_API_KEY" in message
    assert "https://api.playground.kustom.co" in message


@pytest.mark.parametrize(("environ", "variable"), [
    ({"KCO_USERNAME": "M123-test"}, "KCO_PASSWORD"),
    ({"KCO_PASSWORD": PASSWORD}, "KCO_USERNAME"),
    ({"KCO_API_KEY": API_KEY, "KCO_USERNAME": "M123-test"}, "KCO_API_KEY"),
])
def test_half_given_credentials_fail_naming_the_missing_variable(environ, variable):
    with pytest.raises(KCOConfigError, match=variable) as raised:
        ClientConfig.from_env({"KCO_ENVIRONMENT": "live", **environ})
    assert PASSWORD not in str(raised.value) and API_KEY not in str(raised.value)


def test_api_key_alone_is_enough_for_a_real_host():
    config = ClientConfig.from_env({"KCO_ENVIRONMENT": "playground", "KCO_API_KEY": API_KEY})
    assert config.authorization == f"Basic {API_KEY}"


def test_the_local_emulator_needs_no_credentials_set_and_is_sent_its_demo_ones():
    config = ClientConfig.from_env({"KCO_API_URL": "http://127.0.0.1:5001"})
    assert config.is_local and (config.username, config.password) == ("demo", "demo")
    assert ClientConfig.from_env({"KCO_API_URL": "http://localhost:5001"}).is_local
    with pytest.raises(KCOConfigError, match="KCO_USERNAME and KCO_PASSWORD"):
        ClientConfig.from_env({"KCO_API_URL": "https://kco-proxy.example.com"})


def test_timeouts_default_and_come_from_the_environment():
    default = ClientConfig.from_env({"KCO_ENVIRONMENT": "live", **CREDENTIALS})
    assert (default.connect_timeout, default.read_timeout) == (3.05, 10.0)
    tuned = ClientConfig.from_env({"KCO_ENVIRONMENT": "live", "KCO_CONNECT_TIMEOUT": "1.5",
                                   "KCO_READ_TIMEOUT": "25", **CREDENTIALS})
    assert (tuned.connect_timeout, tuned.read_timeout) == (1.5, 25.0)


def test_configured_timeouts_reach_each_request(kco_api):
    config = ClientConfig.from_env({"KCO_API_URL": BASE, "KCO_CONNECT_TIMEOUT": "1.5",
                                    "KCO_READ_TIMEOUT": "25", **CREDENTIALS})
    kco_api.get(ORDER_URL, json=ORDER)
    KCOClient(config).read_order(ORDER_ID)
    assert kco_api.calls[0].request.req_kwargs["timeout"] == (1.5, 25.0)


PROXY = "http://proxy.example.com:3128"


@pytest.fixture
def https_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY set, and no NO_PROXY that would exempt KCO's host, for the client made next."""
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


def test_each_call_uses_the_proxy_and_ca_bundle_the_environment_names_at_that_moment(monkeypatch, https_proxy,
                                                                                   kco_api, recorder):
    client = make_client(recorder)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/shop-ca.pem")
    kco_api.get(ORDER_URL, json=ORDER)
    client.read_order(ORDER_ID)
    sent = kco_api.calls[0].request.req_kwargs
    assert sent["proxies"]["https"] == PROXY
    assert sent["verify"] == "/etc/ssl/certs/shop-ca.pem"


def test_no_proxy_for_the_kco_host_bypasses_https_proxy(monkeypatch, https_proxy, kco_api, recorder):
    monkeypatch.setenv("NO_PROXY", "example.com,api.playground.kustom.co")
    kco_api.get(ORDER_URL, json=ORDER)
    make_client(recorder).read_order(ORDER_ID)
    assert "https" not in kco_api.calls[0].request.req_kwargs["proxies"]


def test_no_proxy_is_honoured_on_a_real_connection(monkeypatch, recorder):
    """A proxy on a closed port would make every call fail; NO_PROXY for the KCO host sends it directly."""
    with socket.socket() as closed, socket.socket() as kco:
        closed.bind(("127.0.0.1", 0))
        kco.bind(("127.0.0.1", 0))
        kco.listen()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed.getsockname()[1]}")
        client = make_client(recorder, base_url=f"http://127.0.0.1:{kco.getsockname()[1]}")
        with pytest.raises(KCOUnreachable) as through_the_proxy:
            client.read_order(ORDER_ID)
        assert through_the_proxy.value.reason == "proxy failure (127.0.0.1)"
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        served = threading.Thread(target=lambda: _answer_once(kco, answer))
        served.start()
        assert client.read_order(ORDER_ID) == {}
        served.join()


def _answer_once(listening: socket.socket, answer: bytes) -> None:
    connection, _ = listening.accept()
    with connection:
        connection.recv(65536)
        connection.sendall(answer)


def test_netrc_gives_credentials_only_when_none_are_configured(monkeypatch, tmp_path, kco_api, recorder):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.playground.kustom.co login netrc-user password netrc-pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    kco_api.get(ORDER_URL, json=ORDER)
    make_client(recorder, username=None, password=None).read_order(ORDER_ID)
    make_client(recorder).read_order(ORDER_ID)
    from_netrc, configured = (call.request.headers["Authorization"] for call in kco_api.calls)
    assert from_netrc == "Basic " + base64.b64encode(b"netrc-user:netrc-pass").decode()
    assert configured == "Basic " + base64.b64encode(f"M123-test:{PASSWORD}".encode()).decode()


# --- What each failure says, and where it is reported ------------------------------------------------------

def test_an_api_error_reads_operation_status_code_messages_and_correlation_id_in_one_line():
    error = KCOApiError("update", 400, "BAD_VALUE", ["Bad value: order_amount", "Bad value: locale"],
                        "corr-1")
    assert str(error) == ("KCO update failed with HTTP 400 BAD_VALUE: Bad value: order_amount; "
                          "Bad value: locale (correlation id corr-1)")
    assert str(KCOApiError("read", 503)) == "KCO read failed with HTTP 503"


def test_unreachable_and_protocol_errors_keep_what_happened():
    unreachable = KCOUnreachable("read", "connection refused")
    assert (unreachable.operation, unreachable.reason, unreachable.request_sent) == (
        "read", "connection refused", False)
    protocol = KCOProtocolError("create", "201 without a Location header")
    assert (protocol.operation, protocol.problem) == ("create", "201 without a Location header")
    assert str(protocol) == "KCO create returned an unusable answer: 201 without a Location header"


@pytest.mark.parametrize(("call", "method", "url"), [
    (lambda client: client.read_order(ORDER_ID), "GET", ORDER_URL),
    (lambda client: client.update_order(ORDER_ID, {"locale": "en-SE"}), "POST", ORDER_URL),
    (lambda client: client.abort_order(ORDER_ID), "POST", f"{ORDER_URL}/abort"),
    (lambda client: client.read_om_order(ORDER_ID), "GET", OM_URL),
], ids=["read", "update", "abort", "om_read"])
@pytest.mark.parametrize(("body", "problem"), [("<html></html>", "200 body is not JSON"),
                                               ("[1, 2]", "200 body is not a JSON object")])
def test_a_success_whose_body_is_no_json_object_is_a_protocol_error_of_that_operation(
        kco_api, client, call, method, url, body, problem):
    kco_api.add(method, url, body=body, status=200)
    with pytest.raises(KCOProtocolError) as raised:
        call(client)
    operation = {ORDER_URL: "read" if method == "GET" else "update", f"{ORDER_URL}/abort": "abort",
                 OM_URL: "om_read"}[url]
    assert (raised.value.operation, raised.value.problem) == (operation, problem)


@pytest.mark.parametrize(("call", "method", "url", "status", "operation"), [
    (lambda client: client.update_order(ORDER_ID, {}), "POST", ORDER_URL, 200, "update"),
    (lambda client: client.abort_order(ORDER_ID), "POST", f"{ORDER_URL}/abort", 200, "abort"),
    (lambda client: client.read_om_order(ORDER_ID), "GET", OM_URL, 200, "om_read"),
    (lambda client: client.acknowledge_order(ORDER_ID), "POST", f"{OM_URL}/acknowledge", 204, "acknowledge"),
], ids=["update", "abort", "om_read", "acknowledge"])
def test_each_call_is_reported_with_its_operation_method_path_and_order_id(
        kco_api, client, recorder, call, method, url, status, operation):
    kco_api.add(method, url, json=ORDER if status == 200 else None, status=status)
    call(client)
    [reported] = recorder.calls
    assert (reported.operation, reported.method, reported.path, reported.order_id, reported.status) == (
        operation, method, url.removeprefix(BASE), ORDER_ID, status)


def test_requests_ask_for_json_and_say_when_they_send_it(kco_api, client):
    kco_api.get(ORDER_URL, json=ORDER)
    kco_api.post(ORDER_URL, json=ORDER)
    client.read_order(ORDER_ID)
    client.update_order(ORDER_ID, {"locale": "en-SE"})
    read, update = (call.request.headers for call in kco_api.calls)
    assert read["Accept"] == update["Accept"] == "application/json"
    assert "Content-Type" not in read and update["Content-Type"] == "application/json"


@pytest.mark.parametrize("order_id", [ORDER_ID, "ORDER-X"])
def test_a_create_answer_whose_location_ends_in_a_slash_still_names_the_order(kco_api, client, order_id):
    location = f"{BASE}/checkout/v3/orders/{order_id}/"
    kco_api.post(f"{BASE}/checkout/v3/orders", json={**ORDER, "order_id": order_id}, status=201,
                 headers={"Location": location})
    assert client.create_order(CREATE_BODY)["order_id"] == order_id


@pytest.mark.parametrize(("headers", "problem"), [
    ({}, "201 without a Location header"),
    ({"Location": f"{BASE}/checkout/v3/orders/another"},
     f"Location '{BASE}/checkout/v3/orders/another' is not the URL of order_id '{ORDER_ID}'"),
])
def test_a_create_answer_without_the_orders_location_names_the_problem(kco_api, client, headers, problem):
    kco_api.post(f"{BASE}/checkout/v3/orders", json=ORDER, status=201, headers=headers)
    with pytest.raises(KCOProtocolError) as raised:
        client.create_order(CREATE_BODY)
    assert (raised.value.operation, raised.value.problem) == ("create", problem)


@pytest.mark.parametrize("order_id", ["", ".", "..", None])
def test_a_create_answer_whose_order_id_is_no_order_id_is_a_protocol_error(kco_api, client, order_id):
    kco_api.post(f"{BASE}/checkout/v3/orders", json={**ORDER, "order_id": order_id}, status=201,
                 headers={"Location": f"{BASE}/checkout/v3/orders/{order_id}"})
    with pytest.raises(KCOProtocolError) as raised:
        client.create_order(CREATE_BODY)
    problem = f"order_id {order_id!r} is not an order id"
    assert (raised.value.operation, raised.value.problem) == ("create", problem)


@pytest.mark.parametrize("order_id", ["", ".", ".."])
def test_no_location_names_an_order_id_that_a_url_resolves_away(order_id):
    assert not location_names_order(f"{BASE}/checkout/v3/orders/{order_id}", BASE, order_id)
    assert not location_names_order(f"{BASE}/checkout/v3/orders", BASE, order_id)


def test_an_unexpected_success_status_is_a_protocol_error_and_a_300_an_api_error(kco_api, client):
    kco_api.get(ORDER_URL, json=ORDER, status=299)
    kco_api.post(ORDER_URL, json=ORDER, status=300)
    with pytest.raises(KCOProtocolError) as raised:
        client.read_order(ORDER_ID)
    assert (raised.value.operation, raised.value.problem) == ("read", "HTTP 299, expected 200")
    with pytest.raises(KCOApiError) as refused:
        client.update_order(ORDER_ID, {})
    assert refused.value.status == 300


def test_a_connection_error_is_reported_and_raised_by_its_type(kco_api, client, recorder):
    kco_api.post(f"{BASE}/checkout/v3/orders", body=requests.exceptions.ConnectionError("reset by peer"))
    with pytest.raises(KCOUnreachable) as raised:
        client.create_order(CREATE_BODY)
    reason = f"ConnectionError ({HOST}): reset by peer"
    assert (raised.value.operation, raised.value.reason) == ("create", reason)
    assert [(call.operation, call.status, call.error) for call in recorder.calls] == [
        ("create", None, reason)]


def test_a_connect_timeout_is_reported_for_its_operation(kco_api, client, recorder):
    kco_api.post(ORDER_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(KCOUnreachable) as raised:
        client.update_order(ORDER_ID, {})
    assert raised.value.operation == "update"
    assert [(call.operation, call.order_id, call.error) for call in recorder.calls] == [
        ("update", ORDER_ID, f"connect timeout ({HOST})")]


@pytest.mark.parametrize(("body", "code", "messages"), [
    ({"error_code": 123, "error_messages": ["Bad value: x"]}, None, ["Bad value: x"]),
    ({"error_code": "BAD_VALUE"}, "BAD_VALUE", []),
])
def test_an_error_body_keeps_only_a_string_code_and_adds_no_message_of_its_own(
        kco_api, client, body, code, messages):
    kco_api.get(ORDER_URL, status=400, json=body)
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    assert (raised.value.error_code, raised.value.error_messages) == (code, messages)


def test_an_empty_correlation_id_in_the_body_gives_way_to_the_header(kco_api, client):
    kco_api.get(ORDER_URL, status=400, json={"error_code": "BAD_VALUE", "correlation_id": ""},
                headers={"Klarna-Correlation-Id": "corr-header"})
    with pytest.raises(KCOApiError) as raised:
        client.read_order(ORDER_ID)
    assert raised.value.correlation_id == "corr-header"


def test_a_bare_error_answer_is_described_by_its_reason_and_content_type(kco_api, client):
    kco_api.get(ORDER_URL, status=599, body="")
    kco_api.post(ORDER_URL, status=500, body="oops", content_type=None)
    with pytest.raises(KCOApiError) as unknown:
        client.read_order(ORDER_ID)
    assert unknown.value.error_messages == ["error (empty body)"]
    with pytest.raises(KCOApiError) as untyped:
        client.update_order(ORDER_ID, {})
    assert untyped.value.error_messages == ["Internal Server Error (no content type body, not JSON)"]


def test_each_attempt_is_logged_with_its_duration_debug_when_it_succeeded_warning_when_not(
        kco_api, client, recorder, caplog, monkeypatch):
    clock = iter([10.0, 10.12345, 20.0, 20.5])
    monkeypatch.setattr("kco.client.time.perf_counter", lambda: next(clock))
    kco_api.get(ORDER_URL, json=ORDER, headers={"Klarna-Correlation-Id": "corr-ok"})
    kco_api.post(ORDER_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    caplog.set_level(logging.DEBUG, logger="kco")
    client.read_order(ORDER_ID)
    with pytest.raises(KCOUnreachable):
        client.update_order(ORDER_ID, {})
    path = ORDER_URL.removeprefix(BASE)
    assert [call.duration_ms for call in recorder.calls] == [123.5, 500.0]  # milliseconds, one decimal
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.DEBUG, f"KCO GET {path} -> 200 in 123.5 ms (operation=read correlation_id=corr-ok)"),
        (logging.WARNING,
         f"KCO POST {path} -> no answer in 500.0 ms (operation=update correlation_id=- "
         f"error=read timeout ({HOST}))"),
    ]


def test_a_session_given_to_the_client_is_the_one_it_calls_with(kco_api, recorder):
    session = requests.Session()
    client = KCOClient(ClientConfig(base_url=BASE), session=session)
    assert client.session is session


# --- Configuration: the exact words, edges and defaults ----------------------------------------------------

@pytest.mark.parametrize(("environ", "message"), [
    ({}, "set KCO_API_URL, or KCO_ENVIRONMENT (playground or live) to pick a KCO host"),
    ({"KCO_API_URL": "http://api.kustom.co"},
     "KCO_API_URL must use https unless it points at 127.0.0.1 or localhost"),
    ({"KCO_API_URL": "ftp://api.kustom.co"}, "KCO_API_URL must be an http(s) URL, got 'ftp://api.kustom.co'"),
    ({"KCO_API_URL": "https://"}, "KCO_API_URL must be an http(s) URL, got 'https://'"),
    ({"KCO_ENVIRONMENT": "live", "KCO_API_KEY": API_KEY, **CREDENTIALS},
     "set either KCO_API_KEY or KCO_USERNAME and KCO_PASSWORD, not both"),
    ({"KCO_ENVIRONMENT": "live", "KCO_USERNAME": "M123-test"}, "KCO_PASSWORD is not set (KCO_USERNAME is)"),
    ({"KCO_ENVIRONMENT": "live", "KCO_PASSWORD": PASSWORD}, "KCO_USERNAME is not set (KCO_PASSWORD is)"),
])
def test_a_bad_configuration_says_exactly_what_to_fix(environ, message):
    with pytest.raises(KCOConfigError) as raised:
        ClientConfig.from_env(environ)
    assert str(raised.value) == message


def test_credentials_from_the_environment_become_the_basic_authorization():
    config = ClientConfig.from_env({"KCO_ENVIRONMENT": "live", **CREDENTIALS})
    assert (config.username, config.password) == ("M123-test", PASSWORD)
    token = base64.b64encode(f"M123-test:{PASSWORD}".encode()).decode()
    assert config.authorization == f"Basic {token}"


def test_empty_region_and_brand_fall_back_to_eu_and_kustom():
    config = ClientConfig.from_env({"KCO_ENVIRONMENT": "live", "KCO_REGION": " ", "KCO_BRAND": "",
                                    **CREDENTIALS})
    assert config.base_url == "https://api.kustom.co"


def test_an_explicit_api_url_keeps_its_path_and_loses_only_trailing_slashes():
    assert ClientConfig.from_env({"KCO_API_URL": "http://127.0.0.1:5001/kcoX//"}).base_url == (
        "http://127.0.0.1:5001/kcoX")


def test_the_klarna_brand_is_refused_naming_the_kustom_host():
    with pytest.raises(KCOConfigError, match="KCO_BRAND") as refused:
        ClientConfig.from_env({"KCO_ENVIRONMENT": "live", "KCO_BRAND": "klarna", **CREDENTIALS})
    assert refused.value.args[0] == KLARNA_BRAND_REFUSED
    assert "31 March 2026" in KLARNA_BRAND_REFUSED and "https://api.kustom.co" in KLARNA_BRAND_REFUSED


@pytest.mark.parametrize(("text", "seconds"), [("0.5", 0.5), ("300", 300.0)])
def test_timeouts_from_under_a_second_up_to_300_seconds_are_taken(text, seconds):
    config = ClientConfig.from_env({"KCO_ENVIRONMENT": "live", "KCO_READ_TIMEOUT": text, **CREDENTIALS})
    assert config.read_timeout == seconds


def test_a_timeout_above_300_seconds_is_refused():
    with pytest.raises(KCOConfigError, match="between 0 and 300 seconds"):
        ClientConfig.from_env({"KCO_ENVIRONMENT": "live", "KCO_READ_TIMEOUT": "300.5", **CREDENTIALS})


# --- Why there was no answer, named in the log --------------------------------------------------------------

def test_a_host_that_does_not_resolve_is_reported_as_dns(recorder):
    client = make_client(recorder, base_url="https://kco.no-such-host.invalid")
    with pytest.raises(KCOUnreachable, match=r"DNS lookup failed \(kco.no-such-host.invalid\)"):
        client.read_order(ORDER_ID)


def test_a_server_that_does_not_speak_tls_is_reported_as_a_tls_failure(recorder):
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        client = make_client(recorder, base_url=f"https://127.0.0.1:{plain.getsockname()[1]}", max_attempts=1)
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        served = threading.Thread(target=lambda: _answer_once(plain, answer))
        served.start()
        with pytest.raises(KCOUnreachable, match=r"TLS failure \(127.0.0.1\)"):
            client.read_order(ORDER_ID)
        served.join()


# --- Credentials for the host's environment -----------------------------------------------------------------

@pytest.mark.parametrize(("environ", "named"), [
    ({"KCO_ENVIRONMENT": "playground", "KCO_API_KEY": "kco_live_api_abc"}, "live key"),
    ({"KCO_ENVIRONMENT": "live", "KCO_API_KEY": "kco_test_api_abc"}, "playground key"),
    ({"KCO_API_URL": "https://api.kustom.co", "KCO_API_KEY": "kco_test_api_abc"}, "playground key"),
    ({"KCO_API_URL": "http://127.0.0.1:5001", "KCO_API_KEY": "kco_live_api_abc"}, "live key"),
])
def test_a_key_for_another_environment_than_the_hosts_is_refused_at_start(environ, named):
    with pytest.raises(KCOConfigError, match=f"KCO_API_KEY is a {named}"):
        ClientConfig.from_env(environ)


def test_a_key_for_the_hosts_environment_is_taken():
    assert ClientConfig.from_env({"KCO_ENVIRONMENT": "live", "KCO_API_KEY": "kco_live_api_abc"}).api_key
    assert ClientConfig.from_env({"KCO_API_URL": "http://127.0.0.1:5001", "KCO_API_KEY": API_KEY}).api_key


# --- One time budget for every call of a request ------------------------------------------------------------

def test_inside_a_time_budget_each_call_waits_at_most_what_is_left(kco_api, client):
    kco_api.get(ORDER_URL, json=ORDER)
    with time_budget(0.5):
        client.read_order(ORDER_ID)
    connect, read = kco_api.calls[0].request.req_kwargs["timeout"]
    assert 0 < connect <= 0.5 and 0 < read <= 0.5


def test_once_the_time_budget_is_spent_no_call_starts(kco_api, client, recorder, monkeypatch):
    monkeypatch.setattr("kco.client.time.monotonic", lambda: 100.0)  # nothing left, to the microsecond
    kco_api.get(ORDER_URL, json=ORDER)
    with time_budget(0), pytest.raises(KCOUnreachable) as spent:
        client.read_order(ORDER_ID)
    assert (spent.value.operation, spent.value.reason) == ("read", "the time budget of this request is spent")
    assert len(kco_api.calls) == 0
    assert [call.error for call in recorder.calls] == ["time budget spent"] * 3


def test_a_wait_between_attempts_never_outlasts_the_time_budget(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("kco.client.time.sleep", slept.append)
    with time_budget(0.2):
        sleep_within_budget(2.0)
    sleep_within_budget(0.5)  # no budget: the whole wait
    assert 0 <= slept[0] <= 0.2 and slept[1] == 0.5


@pytest.mark.parametrize("location", [
    f"https://kco-elsewhere.example.com/checkout/v3/orders/{ORDER_ID}",  # another host
    f"{BASE}/checkout/v4/orders/{ORDER_ID}",  # another path that happens to end in the id
])
def test_a_location_that_is_not_the_url_the_client_builds_for_the_order_fails_the_create(kco_api, client,
                                                                                         location):
    # createOrderMerchant says to use Location, not to build the URL from the id (kco-rules: request-headers):
    # the client builds it, so any other form must stop the create rather than send later calls elsewhere.
    kco_api.post(f"{BASE}/checkout/v3/orders", status=201, json=ORDER, headers={"Location": location})
    with pytest.raises(KCOProtocolError, match="is not the URL of order_id"):
        client.create_order(CREATE_BODY)


def test_a_relative_location_naming_the_orders_path_is_taken(kco_api, client):
    kco_api.post(f"{BASE}/checkout/v3/orders", status=201, json=ORDER,
                 headers={"Location": f"/checkout/v3/orders/{ORDER_ID}"})
    assert client.create_order(CREATE_BODY)["order_id"] == ORDER_ID
