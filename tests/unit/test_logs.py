"""The log format itself keeps client data out, whatever a developer passes to a logger."""

import io
import json
import logging

from bot.logs import JsonFormatter


def emit_text(record_call, *, filtered: bool = False) -> str:
    """What a handler with the bot's formatter (and, if ``filtered``, its redacting filter) writes."""
    from bot.logs import RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    if filtered:
        handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.logs.filtered" if filtered else "test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        record_call(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def emit(record_call) -> dict:
    return json.loads(emit_text(record_call))


def emit_filtered(record_call) -> str:
    return emit_text(record_call, filtered=True)


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


def test_a_developer_writing_client_data_into_the_message_is_redacted():
    import asyncio

    from bot import logs

    async def request() -> str:
        logs.sensitive("Amina El Idrissi", "Magazijnmedewerker in de logistiek")  # as the bot does on input

        def careless(log):
            naam = "Amina El Idrissi"
            log.warning(f"identified {naam}, doel Magazijnmedewerker in de logistiek, ref TK-1A2B3C")
            log.info("Idrissi geboren 1990-04-12 of 12/04/1990, INSZ 90.04.12-123.45, amina@example.be, 0470 12 34 56")
            log.info("status", extra={"error": f"bad value {naam}", "ref": "TK-1A2B3C"})

        return emit_filtered(careless)

    out = asyncio.run(request())
    for private in ("Amina", "Idrissi", "Magazijn", "1990", "12/04", "123.45", "amina@", "0470"):
        assert private not in out, private
    assert out.count("TK-1A2B3C") == 2 and "[…]" in out


def test_values_from_one_request_do_not_leak_into_another_requests_context():
    import asyncio

    from bot import logs

    async def first() -> None:
        logs.sensitive("Yonas Tesfaye")

    async def second() -> str:
        return emit_filtered(lambda log: log.info("Tesfaye"))  # not registered here: kept (no bleed-over)

    async def both() -> str:
        await asyncio.create_task(first())
        return await asyncio.create_task(second())

    assert "Tesfaye" in asyncio.run(both())


def test_tracebacks_are_dropped_for_every_handler():
    from bot.logs import RedactingFilter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, None)
    try:
        raise ValueError("Amina El Idrissi")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert record.exc_info is None and record.__dict__["exception"] == "ValueError"
    assert "Amina" not in JsonFormatter().format(record)
