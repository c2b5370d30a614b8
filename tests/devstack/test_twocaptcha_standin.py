"""The 2Captcha stand-in (devstack.twocaptcha) over real HTTP: the JSON API the worker uses,
2Captcha's error codes, and the fail / hang controls.

The server runs in a thread (uvicorn on a free loopback port); the client is httpx. Results
are polled with short intervals, never waited for with fixed sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import signal
import ssl
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.twocaptcha import Settings
from devstack.twocaptcha.server import ServerThread
from tests.support.ports import free_port

API_KEY = "test-2captcha-key"
SECRET = "test-captcha-secret"
SOLVE_DELAY = 0.2
POLL_INTERVAL = 0.03
POLL_DEADLINE = 5.0
# Built once: each httpx client would otherwise load the CA bundle again (~0.2 s).
TLS = ssl.create_default_context()


# -- helpers --------------------------------------------------------------------------------
def png(answer: str | None = None) -> bytes:
    """A valid 1x1 grey PNG, carrying `answer` in a tEXt chunk `dbolt-answer` when given."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    chunks = [chunk(b"IHDR", header)]
    chunks.append(chunk(b"tEXt", b"Comment\0not the answer"))
    if answer is not None:
        chunks.append(chunk(b"tEXt", b"dbolt-answer\0" + answer.encode("latin-1")))
    chunks += [chunk(b"IDAT", zlib.compress(b"\0\x80")), chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def expected_token(sitekey: str, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), sitekey.encode(), hashlib.sha256).hexdigest()
    return "dbolt-captcha." + digest[:32]


def call(client: httpx.Client, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, json={"clientKey": API_KEY, **body})
    # 2Captcha reports every API error with HTTP 200; the body says what went wrong.
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def create(client: httpx.Client, task: dict[str, Any]) -> int:
    created = call(client, "/createTask", task=task)
    assert created["errorId"] == 0, created
    assert isinstance(created["taskId"], int)
    return int(created["taskId"])


def image_task(image: bytes) -> dict[str, Any]:
    return {"type": "ImageToTextTask", "body": b64(image)}


def poll(client: httpx.Client, task_id: int) -> tuple[dict[str, Any], int]:
    """The first answer that is not "processing", and how many "processing" came first."""
    processing = 0
    deadline = time.monotonic() + POLL_DEADLINE
    while time.monotonic() < deadline:
        result = call(client, "/getTaskResult", taskId=task_id)
        if result.get("status") != "processing":
            return result, processing
        processing += 1
        time.sleep(POLL_INTERVAL)
    raise AssertionError(f"task {task_id} still processing after {POLL_DEADLINE} s")


def stats(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/_admin/stats")
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def set_mode(client: httpx.Client, mode: str) -> None:
    client.post("/_admin/mode", json={"mode": mode}).raise_for_status()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    settings = Settings(api_key=API_KEY, shared_secret=SECRET, solve_delay_seconds=SOLVE_DELAY)
    with ServerThread(settings) as running:
        yield running


@pytest.fixture
def client(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5, trust_env=False, verify=TLS) as http:
        http.post("/_admin/reset").raise_for_status()
        yield http


# -- the JSON API ---------------------------------------------------------------------------
def test_image_task_is_solved_from_its_text_chunk(client: httpx.Client) -> None:
    task_id = create(client, image_task(png("x7Kq2")))

    result, processing = poll(client, task_id)

    assert processing >= 1, "a client must see 'processing' at least once"
    assert result["errorId"] == 0
    assert result["status"] == "ready"
    assert result["solution"] == {"text": "x7Kq2"}
    assert result["cost"] == "0.00100"
    assert result["createTime"] <= result["endTime"]
    # Polling again gives the same answer: results stay readable once ready.
    assert call(client, "/getTaskResult", taskId=task_id)["solution"] == {"text": "x7Kq2"}


def test_image_body_may_be_a_data_uri(client: httpx.Client) -> None:
    encoded = b64(png("dataUri"))
    task_id = create(
        client, {"type": "ImageToTextTask", "body": f"data:image/png;base64,{encoded}"}
    )

    result, _ = poll(client, task_id)

    assert result["solution"] == {"text": "dataUri"}


def test_image_without_an_answer_chunk_is_unsolvable(client: httpx.Client) -> None:
    task_id = create(client, image_task(png(answer=None)))

    result, _ = poll(client, task_id)

    assert result["errorId"] == 12
    assert result["errorCode"] == "ERROR_CAPTCHA_UNSOLVABLE"
    assert stats(client)["tasks"]["image"] == {
        "created": 1,
        "solved": 0,
        "failed": 1,
    }


@pytest.mark.parametrize(
    ("task_type", "solution_keys"),
    [
        ("RecaptchaV2TaskProxyless", {"gRecaptchaResponse", "token"}),
        ("HCaptchaTaskProxyless", {"gRecaptchaResponse", "token"}),
        ("TurnstileTaskProxyless", {"token"}),
    ],
)
def test_token_tasks_get_the_hmac_of_their_site_key(
    client: httpx.Client, task_type: str, solution_keys: set[str]
) -> None:
    sitekey = f"sitekey-for-{task_type}"
    task_id = create(
        client,
        {"type": task_type, "websiteURL": "http://127.0.0.1:9/form", "websiteKey": sitekey},
    )

    result, processing = poll(client, task_id)

    assert processing >= 1
    assert result["status"] == "ready"
    assert set(result["solution"]) == solution_keys
    for key in solution_keys:
        assert result["solution"][key] == expected_token(sitekey)


def test_tokens_depend_on_the_shared_secret() -> None:
    settings = Settings(api_key=API_KEY, shared_secret="another-secret", solve_delay_seconds=0)
    with (
        ServerThread(settings) as other,
        httpx.Client(base_url=other.url, timeout=5, trust_env=False, verify=TLS) as http,
    ):
        task_id = create(
            http,
            {"type": "TurnstileTaskProxyless", "websiteURL": "http://x/", "websiteKey": "k"},
        )
        result, _ = poll(http, task_id)

    assert result["solution"]["token"] == expected_token("k", secret="another-secret")
    assert result["solution"]["token"] != expected_token("k")


@pytest.mark.parametrize("path", ["/createTask", "/getTaskResult"])
def test_a_wrong_client_key_is_refused(client: httpx.Client, path: str) -> None:
    response = client.post(path, json={"clientKey": "nope", "task": image_task(png("a"))})

    assert response.status_code == 200
    assert response.json() == {
        "errorId": 1,
        "errorCode": "ERROR_KEY_DOES_NOT_EXIST",
        "errorDescription": "Your API key is incorrect",
    }
    assert stats(client)["totals"]["created"] == 0


@pytest.mark.parametrize(
    ("task", "error_id", "error_code"),
    [
        ({"type": "ImageToTextTask", "body": ""}, 3, "ERROR_ZERO_CAPTCHA_FILESIZE"),
        ({"type": "ImageToTextTask"}, 3, "ERROR_ZERO_CAPTCHA_FILESIZE"),
        ({"type": "ImageToTextTask", "body": "%%% not base64 %%%"}, 110, "ERROR_BAD_PARAMETERS"),
        (
            {"type": "ImageToTextTask", "body": b64(b"plain text")},
            15,
            "ERROR_IMAGE_TYPE_NOT_SUPPORTED",
        ),
        (
            {"type": "ImageToTextTask", "body": b64(png("a") * 2000)},
            4,
            "ERROR_TOO_BIG_CAPTCHA_FILESIZE",
        ),
        (
            {"type": "RecaptchaV2TaskProxyless", "websiteURL": "http://x/"},
            110,
            "ERROR_BAD_PARAMETERS",
        ),
        ({"type": "HCaptchaTaskProxyless", "websiteKey": "k"}, 110, "ERROR_BAD_PARAMETERS"),
        ({"type": "FunCaptchaTaskProxyless"}, 23, "ERROR_TASK_NOT_SUPPORTED"),
        (None, 22, "ERROR_TASK_ABSENT"),
    ],
)
def test_bad_tasks_get_2captchas_error_codes(
    client: httpx.Client, task: dict[str, Any] | None, error_id: int, error_code: str
) -> None:
    answer = call(client, "/createTask", task=task)

    assert answer["errorId"] == error_id
    assert answer["errorCode"] == error_code
    assert answer["errorDescription"]
    assert stats(client)["totals"]["created"] == 0


def test_a_body_that_is_not_json_is_a_bad_parameter(client: httpx.Client) -> None:
    response = client.post("/createTask", content=b"clientKey=x", headers={"Content-Type": "x"})

    assert response.status_code == 200
    assert response.json()["errorCode"] == "ERROR_BAD_PARAMETERS"


@pytest.mark.parametrize("task_id", [123, "123", "abc", None])
def test_unknown_task_ids(client: httpx.Client, task_id: object) -> None:
    answer = call(client, "/getTaskResult", taskId=task_id)

    assert answer["errorId"] == 16
    assert answer["errorCode"] == "ERROR_NO_SUCH_CAPCHA_ID"


# -- the test controls ----------------------------------------------------------------------
def test_fail_mode_makes_every_task_unsolvable(client: httpx.Client) -> None:
    set_mode(client, "fail")
    image = create(client, image_task(png("would be right")))
    token = create(
        client, {"type": "RecaptchaV2TaskProxyless", "websiteURL": "http://x/", "websiteKey": "k"}
    )

    for task_id in (image, token):
        # Failures take as long as answers, as with real workers giving up.
        assert call(client, "/getTaskResult", taskId=task_id)["status"] == "processing"
    for task_id in (image, token):
        result, _ = poll(client, task_id)
        assert result["errorCode"] == "ERROR_CAPTCHA_UNSOLVABLE"

    counts = stats(client)
    assert counts["mode"] == "fail"
    assert counts["tasks"]["image"]["failed"] == 1
    assert counts["tasks"]["recaptcha_v2"]["failed"] == 1
    assert counts["totals"]["solved"] == 0


def test_hang_mode_keeps_tasks_processing(client: httpx.Client) -> None:
    set_mode(client, "hang")
    hung = create(client, image_task(png("never")))
    deadline = time.monotonic() + SOLVE_DELAY * 2.5
    while time.monotonic() < deadline:
        assert call(client, "/getTaskResult", taskId=hung) == {"errorId": 0, "status": "processing"}
        time.sleep(POLL_INTERVAL * 3)

    # Back to ok: new tasks are solved; the hung one keeps the fate it was created with.
    set_mode(client, "ok")
    solved, _ = poll(client, create(client, image_task(png("fine"))))
    assert solved["solution"] == {"text": "fine"}
    assert call(client, "/getTaskResult", taskId=hung)["status"] == "processing"
    counts = stats(client)
    assert counts["processing"] == 1
    assert counts["tasks"]["image"] == {
        "created": 2,
        "solved": 1,
        "failed": 0,
    }


def test_reset_forgets_tasks_and_counters(client: httpx.Client) -> None:
    set_mode(client, "fail")
    task_id = create(client, image_task(png("x")))

    after = client.post("/_admin/reset").json()

    assert after["mode"] == "ok"
    assert after["totals"] == {"created": 0, "solved": 0, "failed": 0}
    assert call(client, "/getTaskResult", taskId=task_id)["errorCode"] == "ERROR_NO_SUCH_CAPCHA_ID"


def test_an_unknown_mode_is_refused_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/_admin/mode", json={"mode": "explode"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "mode"]
    assert stats(client)["mode"] == "ok"


def test_the_command_line_serves_on_the_given_port() -> None:
    port = free_port()
    env = os.environ | {"TWOCAPTCHA_API_KEY": "cli-key", "CAPTCHA_SHARED_SECRET": "cli-secret"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.twocaptcha", "--port", str(port), "--solve-delay", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"TWOCAPTCHA_BASE_URL=http://127.0.0.1:{port}"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, verify=TLS) as http:
            # The key from the environment is accepted: the only complaint is the task id.
            answer = wait_for_json(http, "/getTaskResult", {"clientKey": "cli-key", "taskId": 1})
            assert answer["errorCode"] == "ERROR_NO_SUCH_CAPCHA_ID"
            created = http.post(
                "/createTask",
                json={
                    "clientKey": "cli-key",
                    "task": {
                        "type": "TurnstileTaskProxyless",
                        "websiteURL": "u",
                        "websiteKey": "k",
                    },
                },
            ).json()
            result = http.post(
                "/getTaskResult", json={"clientKey": "cli-key", "taskId": created["taskId"]}
            ).json()
            assert result["solution"]["token"] == expected_token("k", secret="cli-secret")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    # The API key never reaches the logs.
    assert "cli-key" not in stderr


def wait_for_json(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        try:
            answer: dict[str, Any] = http.post(path, json=body).json()
            return answer
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
