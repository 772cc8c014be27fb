"""The jobs' own rules, without a browser: which conversations and messages are new, and
which message on the page is one an earlier attempt already sent. Platforms print times
with and without offsets, and render text their own way; none of it may raise or hide a
sent message (which would be typed again)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from core.enums import Direction
from core.fleet.protocol import ScrapedMessage
from workers.driver import find_sent_in
from workers.jobs import is_new, since_known

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=9))])
TIMES = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    # Any offset keeps them within the years a platform time may have (2000 to 2100).
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 31)),
    ZONES,
)


def _sent(text: str, at: datetime, message_id: str = "m1") -> ScrapedMessage:
    return ScrapedMessage(
        platform_message_id=message_id, direction=Direction.outbound, text=text, sent_at=at
    )


def test_a_naive_platform_time_is_compared_with_the_control_planes_aware_one() -> None:
    assert is_new(datetime(2026, 3, 1, 13, 0), T0)
    assert not is_new(datetime(2026, 3, 1, 11, 0), T0)


@given(last=st.none() | TIMES, known=st.none() | TIMES)
def test_any_mix_of_naive_and_aware_times_decides_what_is_new(
    last: datetime | None, known: datetime | None
) -> None:
    assert isinstance(is_new(last, known), bool)


@given(sent=TIMES, known=st.none() | TIMES)
def test_any_mix_of_naive_and_aware_times_filters_a_thread(
    sent: datetime, known: datetime | None
) -> None:
    assert len(since_known([_sent("hi", sent)], known)) in (0, 1)


def test_a_multi_line_send_is_found_as_the_page_renders_it() -> None:
    # Typed from an operator's "\r\n"; the page shows "\n", and spaces collapsed.
    page = [_sent("see you  tonight\nxoxo ", T0)]
    assert find_sent_in(page, "see you tonight\r\nxoxo", T0 - timedelta(minutes=1)) == "m1"


def test_a_send_found_again_is_one_sent_since_the_attempt_began() -> None:
    page = [_sent("hello", T0 - timedelta(hours=1), "old"), _sent("hello", T0, "new")]
    assert find_sent_in(page, "hello", T0 - timedelta(minutes=1)) == "new"
    assert find_sent_in(page, "hello", T0 + timedelta(minutes=1)) is None


def test_another_text_or_the_fans_message_is_not_the_send() -> None:
    fans = ScrapedMessage(
        platform_message_id="f1", direction=Direction.inbound, text="hello", sent_at=T0
    )
    assert find_sent_in([fans, _sent("hello there", T0)], "hello", T0) is None


def test_a_naive_page_time_is_compared_with_an_aware_attempt_time() -> None:
    page = [_sent("hello", datetime(2026, 3, 1, 12, 0))]
    assert find_sent_in(page, "hello", T0 - timedelta(seconds=30)) == "m1"


# What a person may type: letters, digits, punctuation, spaces and line breaks, emoji
# (ZWJ sequences included) and accented letters, composed or not.
TYPEABLE = (
    st.lists(
        st.sampled_from(
            list("abcXYZ019 .,!?'\"-\n\r\t")
            + ["😊", "👨‍👩‍👧‍👦", "❤️", "é", "e\u0301", "ß", "\u00a0"]
        ),
        min_size=1,
        max_size=60,
    )
    .map("".join)
    .filter(lambda text: text.strip())
)


def _as_a_page_renders(text: str) -> str:
    """What a page may show of `text`: Windows line ends turned to "\\n", runs of spaces
    and tabs collapsed and trimmed at each line's ends (as HTML lays text out), accents
    decomposed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    shown = "\n".join(re.sub(r"[ \t]+", " ", line).strip(" ") for line in lines)
    return unicodedata.normalize("NFD", shown)


@given(TYPEABLE)
def test_any_text_the_typist_can_type_is_found_again(text: str) -> None:
    page = [_sent(_as_a_page_renders(text), T0)]
    assert find_sent_in(page, text, T0) == "m1"
