"""INBOUND_IMAP_URL and INBOUND_REPLY_ADDRESS are checked at start, with one clear line that
never shows the mailbox password."""

from tests.portal.test_settings import manage


def test_a_mailbox_url_that_is_not_imap_stops_the_process_without_showing_the_password():
    result = manage("check", DEBUG="true", INBOUND_IMAP_URL="pop3://user:s3cret@mail.example")
    assert result.returncode != 0
    assert "INBOUND_IMAP_URL='pop3://...' is not valid" in result.stderr
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_imaps_mailbox_url_is_accepted():
    result = manage("check", DEBUG="true", INBOUND_IMAP_URL="imaps://user:pw@mail.example/INBOX")
    assert result.returncode == 0, result.stderr


def test_a_reply_address_with_a_plus_tag_is_refused():
    result = manage("check", DEBUG="true", INBOUND_REPLY_ADDRESS="support+x@rxhealth.example")
    assert result.returncode != 0
    assert "INBOUND_REPLY_ADDRESS" in result.stderr
