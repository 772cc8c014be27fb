"""The console's event-stream messages: what a page's `EventSource` reads back is what
was sent, lines and all."""

from __future__ import annotations

from api.console.live import message


def test_a_message_names_its_event_and_ends_with_a_blank_line() -> None:
    assert message("queue", "41") == "event: queue\ndata: 41\n\n"


def test_each_line_of_the_data_gets_a_field_of_its_own_whatever_ends_it() -> None:
    sent = message("fleet", "<p>one</p>\n<p>two</p>\r\nthree\rfour")

    assert sent == ("event: fleet\ndata: <p>one</p>\ndata: <p>two</p>\ndata: three\ndata: four\n\n")


def test_other_breaks_stay_in_the_line_they_are_in() -> None:
    # An account name may hold a line separator: SSE ends no line there.
    assert message("fleet", "Mia\u2028Rose") == "event: fleet\ndata: Mia\u2028Rose\n\n"
