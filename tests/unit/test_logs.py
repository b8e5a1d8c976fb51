"""The log format itself keeps client data out, whatever a developer passes to a logger."""

import io
import json
import logging

from bot.logs import JsonFormatter


def emit_text(record_call, *, filtered: bool = False, name: str | None = None) -> str:
    """What a handler with the bot's formatter (and, if ``filtered``, its redacting filter) writes,
    for a record of the bot's own logger (or of ``name``, another library's)."""
    from bot.logs import RedactingFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    if filtered:
        handler.addFilter(RedactingFilter())
    logger = logging.getLogger(name or ("bot.test.filtered" if filtered else "bot.test"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # only this handler: pytest's own would choke on a library's broken format
    try:
        record_call(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def emit(record_call, name: str | None = None) -> dict:
    return json.loads(emit_text(record_call, name=name))


def emit_filtered(record_call, name: str | None = None) -> str:
    return emit_text(record_call, filtered=True, name=name)


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


def test_other_libraries_messages_are_formatted_with_their_arguments():
    for filtered in (False, True):
        line = json.loads(emit_text(lambda log: log.debug("Using selector: %s", "EpollSelector"),
                                    filtered=filtered, name="asyncio"))
        assert line["msg"] == "Using selector: EpollSelector"
        line = json.loads(emit_text(lambda log: log.warning("%(count)d retries left", {"count": 3}),
                                    filtered=filtered, name="azure.core"))
        assert line["msg"] == "3 retries left"


def test_another_librarys_arguments_are_redacted_like_any_text():
    import asyncio

    from bot import logs

    async def request() -> str:
        logs.sensitive("Amina El Idrissi")
        return emit_filtered(lambda log: log.error("Error handling request %r born %s", "Amina El Idrissi",
                                                   "1990-04-12"), name="aiohttp.server")

    out = asyncio.run(request())
    assert "Error handling request" in out and "Amina" not in out and "1990" not in out


def test_a_librarys_broken_format_shows_its_template():
    line = emit(lambda log: log.info("%d items", "not a number"), name="somelib")
    assert line["msg"] == "%d items"


def test_the_bots_own_records_still_drop_their_arguments_through_the_filter():
    out = emit_filtered(lambda log: log.info("identify %s", "Yonas Tesfaye"))
    assert "Yonas" not in out and "identify %s" in out
