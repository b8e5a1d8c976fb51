"""The log format itself keeps client data out, whatever a developer passes to a logger."""

import io
import json
import logging

from bot.logs import JsonFormatter


def emit(record_call) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        record_call(logger)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue())


def test_arguments_and_unknown_extras_are_dropped():
    line = emit(lambda log: log.info("identify %s", "Amina El Idrissi",
                                     extra={"naam": "Amina El Idrissi", "ref": "TK-1A2B3C", "status": 503}))
    assert "Amina" not in json.dumps(line)
    assert line["msg"] == "identify %s" and line["ref"] == "TK-1A2B3C" and line["status"] == 503


def test_exception_text_is_reduced_to_its_type():
    def fail(log):
        try:
            raise ValueError("naam 'Amina El Idrissi' is ongeldig")
        except ValueError:
            log.exception("validation crashed")

    line = emit(fail)
    assert line["exception"] == "ValueError" and "Amina" not in json.dumps(line)
