"""Host protocol client against loop:// and a fake device with injected faults."""

import time

import numpy as np
import pytest

from fake_device import INT8_1xN, N, FakeDevice, info_payload
from tinyml.harness import framing as fr
from tinyml.harness.errors import HarnessError
from tinyml.harness.protocol import INFO_NAME_MAX, Device, parse_info, parse_invoke

X = np.arange(N, dtype=np.int8).reshape(1, N)


def _run(fake, **kw):
    with Device(fake.url, timeout=0.3, **kw) as dev:
        info = dev.info()
        outs, res = dev.run([X])
    fake.close()
    return dev, info, outs, res


def test_clean_session():
    dev, info, outs, res = _run(FakeDevice())
    assert info.name == "fake" and info.inputs[0].shape == (1, N) and info.inputs[0].scale == 0.5
    np.testing.assert_array_equal(outs[0], X + 1)
    assert (res.status, res.counter, res.count, res.peak_stack) == (0, "cycles", 1234, 96)
    assert dev.retried == 0


@pytest.mark.parametrize("fault", [dict(corrupt_replies=2), dict(ignore_requests=1),
                                   dict(garbage=b"\x00\xa5\x5a\x01noise")])
def test_faults_end_in_a_successful_retry(fault):
    dev, _, outs, _ = _run(FakeDevice(**fault))
    np.testing.assert_array_equal(outs[0], X + 1)
    if "garbage" not in fault:
        assert dev.retried >= 1


def test_corrupted_request_gets_nak_and_retry():
    fake = FakeDevice()
    with Device(fake.url, timeout=0.3) as dev:
        dev._port.write(fr.encode(fr.CMD_INFO, 99)[:-1] + b"\x00")   # bad CRC on the line
        assert dev.info().name == "fake"
    assert fake.requests.count(fr.CMD_INFO) >= 2
    fake.close()


def test_truncated_request_then_success():
    fake = FakeDevice()
    with Device(fake.url, timeout=0.3) as dev:
        dev._port.write(fr.encode(fr.CMD_LOAD_INPUT, 50, bytes(5 + N))[:9])
        assert dev.info().name == "fake"
    fake.close()


def test_device_that_never_answers_is_a_one_line_error():
    fake = FakeDevice(silent=True)
    start = time.monotonic()
    with Device(fake.url, timeout=0.2, retries=2) as dev, pytest.raises(HarnessError) as err:
        dev.info()
    assert time.monotonic() - start < 2
    assert "INFO failed after 3 tries: no answer" in str(err.value) and "\n" not in str(err.value)
    fake.close()


def test_reset_mid_run_is_reported():
    fake = FakeDevice(reset_on=fr.CMD_INVOKE)
    with Device(fake.url, timeout=0.3) as dev, pytest.raises(HarnessError, match="reset while INVOKE"):
        dev.run([X])
    fake.close()


def test_refused_argument_is_not_retried():
    fake = FakeDevice()
    with Device(fake.url, timeout=0.3) as dev, pytest.raises(HarnessError, match="bad argument"):
        dev.request(fr.CMD_LOAD_INPUT, b"\x05\0\0\0\0x")
    fake.close()


def test_loop_url_without_device_times_out():
    # loop:// hears our own request: not a reply, so it is skipped and the wait times out.
    with Device("loop://", timeout=0.1, retries=1) as dev, pytest.raises(HarnessError, match="no answer"):
        dev.request(fr.CMD_INFO)


def test_wrong_input_shape_is_an_error():
    fake = FakeDevice()
    with Device(fake.url, timeout=0.3) as dev, pytest.raises(HarnessError, match="input 0"):
        dev.run([np.zeros(3, np.int8)])
    fake.close()


def test_unopenable_port_is_an_error():
    with pytest.raises(HarnessError, match="cannot open"):
        Device("/dev/does-not-exist")


GOOD_INFO = info_payload()
NAME_AT = 15   # the name's first byte: after the 14-byte head and its length


@pytest.mark.parametrize("payload, match", [
    (GOOD_INFO[:10], "ends inside the header"),
    (GOOD_INFO[:NAME_AT + 2], "ends inside the model name"),
    (GOOD_INFO[:-3], "ends inside output 0"),
    (GOOD_INFO + b"\0", "1 after its last tensor"),
    (info_payload(name=b"\xff\xfe"), "not UTF-8"),
    (info_payload(name="m" * (INFO_NAME_MAX + 1)), f"at most {INFO_NAME_MAX}"),
    (GOOD_INFO[:NAME_AT + 4] + bytes([9]) + GOOD_INFO[NAME_AT + 5:], "input 0 has dtype code 9"),
    (GOOD_INFO[:NAME_AT + 4] + bytes([4]) + GOOD_INFO[NAME_AT + 5:], "int32 of shape .1, 8. but 8 bytes"),
])
def test_malformed_info_is_a_harness_error(payload, match):
    with pytest.raises(HarnessError, match=match):
        parse_info(payload)


def test_malformed_info_from_a_device_names_the_port():
    fake = FakeDevice(info=info_payload(name=b"\xff"))
    with Device(fake.url, timeout=0.3) as dev, pytest.raises(HarnessError) as err:
        dev.info()
    assert str(err.value).startswith(fake.url) and "not UTF-8" in str(err.value)
    fake.close()


def test_other_protocol_version_is_refused_before_parsing():
    fake = FakeDevice(info=bytes([1]) + info_payload()[1:] + b"junk")
    with Device(fake.url, timeout=0.3) as dev, pytest.raises(HarnessError, match=f"protocol v1, host v{fr.PROTOCOL_VERSION}"):
        dev.info()
    fake.close()


def test_short_invoke_reply_is_a_harness_error():
    with pytest.raises(HarnessError, match="INVOKE reply of 5 bytes"):
        parse_invoke(bytes(5))


def test_info_round_trips_the_fake_tensors():
    info = parse_info(GOOD_INFO)
    assert info.inputs == info.outputs == (INT8_1xN,) and info.name == "fake"
