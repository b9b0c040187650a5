"""Notifications read out of what zeep hands over to the pull loop."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs; zeep's own parser

from safecity.adapters.onvif.pullpoint import notification_from

RAW = b"""<tt:Message xmlns:tt="http://www.onvif.org/ver10/schema"
    UtcTime="2026-05-01T12:00:00Z" PropertyOperation="Changed">
  <tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" Value="vs1"/></tt:Source>
  <tt:Data><tt:SimpleItem Name="IsTamper" Value="true"/></tt:Data>
</tt:Message>"""


class Holder:
    """zeep's shape of a NotificationMessage: `.Topic._value_1`, `.Message._value_1`."""

    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


def test_a_payload_zeep_left_as_xml_is_read_like_a_parsed_one() -> None:
    message = Holder(
        Topic=Holder(_value_1="tns1:RuleEngine/TamperDetector/Tamper"),
        Message=Holder(_value_1=etree.fromstring(RAW)),
    )
    notification = notification_from(message)
    assert notification is not None
    assert notification.at == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert notification.operation == "Changed"
    assert notification.source == (("VideoSourceConfigurationToken", "vs1"),)
    assert notification.data == (("IsTamper", "true"),)


def test_a_message_without_topic_is_skipped() -> None:
    assert notification_from(Holder(Topic=None, Message=None)) is None
