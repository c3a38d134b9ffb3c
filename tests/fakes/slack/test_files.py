"""Self-tests of the emulator's file upload (tests/fakes/slack/files.py).

They drive the real ``AsyncWebClient.files_upload_v2`` — files.getUploadURLExternal, the POST
of the bytes to the upload URL, files.completeUploadExternal — and check what arrived: the
bytes themselves, and the file message in the channel's history, not merely that calls were
made.  No sleeps: every wait is on something the emulator records.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError

from tests.fakes.images import ALT, CARD
from tests.fakes.slack.api import FILES_SCOPE, SIZE_MISMATCH, UPLOAD, FakeSlack


async def share_card(
    fake: FakeSlack, channel: str = "C1", *, retries: bool = True, **kwargs: object
) -> dict[str, object]:
    """Share CARD with the real files_upload_v2, as the bot will; returns the answer's data.

    ``retries=False``: without slack_sdk's default retry of a connection error (1 s apart).
    """
    client = fake.web_client() if retries else fake.web_client(retry_handlers=[])
    response = await client.files_upload_v2(
        channel=channel,
        file=CARD,
        filename="maxim-34.png",
        title="Maxim 34",
        alt_txt=ALT,
        **kwargs,
    )
    assert isinstance(response.data, dict)
    return response.data


# ------------------------------------------------------------------------------ happy path


async def test_a_shared_card_arrives_byte_for_byte_and_shows_in_the_history(
    fake: FakeSlack,
) -> None:
    answer = await share_card(fake)

    [shared] = answer["files"]  # type: ignore[misc]
    assert fake.uploaded_bytes(shared["id"]) == CARD
    record = fake.uploaded_files[shared["id"]]
    assert (record.filename, record.length, record.alt_txt) == ("maxim-34.png", len(CARD), ALT)
    assert record.completed
    assert shared["title"] == "Maxim 34"
    assert (shared["original_w"], shared["original_h"]) == (1200, 630)
    history = await fake.web_client().conversations_history(channel="C1")
    [message] = history["messages"]
    [file] = message["files"]
    assert (file["id"], file["name"], file["title"]) == (shared["id"], "maxim-34.png", "Maxim 34")
    assert (file["mimetype"], file["size"], file["alt_txt"]) == ("image/png", len(CARD), ALT)
    assert message["user"] == fake.bot_user_id
    assert shared["shares"]["public"]["C1"][0]["ts"] == message["ts"]
    assert record.shares == {"C1": message["ts"]}


async def test_the_upload_url_answers_as_slack_does_and_takes_a_multipart_form(
    fake: FakeSlack,
) -> None:
    client = fake.web_client()
    got = await client.files_getUploadURLExternal(filename="maxim-34.png", length=len(CARD))
    form = aiohttp.FormData()
    form.add_field("filename", CARD, filename="maxim-34.png", content_type="image/png")
    async with aiohttp.ClientSession() as http, http.post(got["upload_url"], data=form) as answer:
        assert (answer.status, answer.content_type) == (200, "text/plain")
        assert await answer.text() == f"OK - {len(CARD)}"

    assert fake.uploaded_bytes(got["file_id"]) == CARD


async def test_an_initial_comment_and_a_thread_ts_go_on_the_file_message(fake: FakeSlack) -> None:
    parent = await fake.web_client().chat_postMessage(channel="C1", text="today's maxim")

    await share_card(fake, initial_comment="Maxim 34", thread_ts=parent["ts"])

    [message] = fake.file_messages("C1")
    assert (message["text"], message["thread_ts"]) == ("Maxim 34", parent["ts"])


async def test_share_info_can_lag_behind_the_message_as_on_slack(fake: FakeSlack) -> None:
    fake.share_info_delayed = True

    answer = await share_card(fake)

    [shared] = answer["files"]  # type: ignore[misc]
    assert (shared["shares"], shared["channels"]) == ({}, [])
    [message] = fake.file_messages("C1")
    assert message["files"][0]["id"] == shared["id"]


# ------------------------------------------------------------------------------ Slack's errors


async def refused(call: object) -> dict[str, object]:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    data = caught.value.response.data
    assert isinstance(data, dict)
    return data


async def test_completing_a_file_that_was_never_uploaded_is_file_not_found(
    fake: FakeSlack,
) -> None:
    client = fake.web_client()
    got = await client.files_getUploadURLExternal(filename="maxim-34.png", length=len(CARD))

    never_issued = await refused(client.files_completeUploadExternal(files=[{"id": "F0NOSUCH"}]))
    no_bytes = await refused(
        client.files_completeUploadExternal(files=[{"id": got["file_id"]}], channel_id="C1")
    )

    assert never_issued["error"] == no_bytes["error"] == "file_not_found"
    assert fake.file_messages("C1") == []


async def test_a_file_completes_only_once(fake: FakeSlack) -> None:
    answer = await share_card(fake)
    [shared] = answer["files"]  # type: ignore[misc]

    again = await refused(
        fake.web_client().files_completeUploadExternal(
            files=[{"id": shared["id"]}], channel_id="C1"
        )
    )

    assert again["error"] == "file_not_found"
    assert len(fake.file_messages("C1")) == 1


async def test_bytes_that_differ_from_the_announced_length_are_refused(fake: FakeSlack) -> None:
    client = fake.web_client()
    got = await client.files_getUploadURLExternal(filename="maxim-34.png", length=len(CARD))
    async with aiohttp.ClientSession() as http, http.post(got["upload_url"], data=CARD[:-5]):
        pass

    answer = await refused(
        client.files_completeUploadExternal(files=[{"id": got["file_id"]}], channel_id="C1")
    )

    assert answer["error"] == SIZE_MISMATCH
    assert fake.uploaded_bytes(got["file_id"]) == CARD[:-5]
    assert not fake.uploaded_files[got["file_id"]].completed
    assert fake.file_messages("C1") == []


async def test_an_unknown_channel_is_channel_not_found(fake: FakeSlack) -> None:
    answer = await refused(share_card(fake, channel="C404"))

    assert answer["error"] == "channel_not_found"
    [record] = fake.uploaded_files.values()
    assert record.uploaded and not record.completed


async def test_a_channel_without_the_bot_is_not_in_channel(fake: FakeSlack) -> None:
    fake.channel_members["C2"] = {"U2"}

    answer = await refused(share_card(fake, channel="C2"))

    assert answer["error"] == "not_in_channel"
    assert fake.file_messages("C2") == []


async def test_a_token_without_files_write_is_missing_scope_naming_both_scopes(
    fake: FakeSlack,
) -> None:
    fake.deny_scope(FILES_SCOPE)

    answer = await refused(share_card(fake))

    assert (answer["error"], answer["needed"]) == ("missing_scope", FILES_SCOPE)
    provided = str(answer["provided"]).split(",")
    assert "chat:write" in provided and FILES_SCOPE not in provided
    assert fake.uploaded_files == {}  # refused at the first step
    fake.grant_scope(FILES_SCOPE)
    await share_card(fake)


async def test_a_workspace_installed_without_files_write_is_missing_scope(
    fake: FakeSlack,
) -> None:
    fake.add_workspace("T2", channels={"C20"}, bot_token="xoxb-t2", scopes="chat:write")

    client = fake.web_client("xoxb-t2")
    answer = await refused(
        client.files_upload_v2(channel="C20", file=CARD, filename="maxim-34.png", title="Maxim 34")
    )

    assert (answer["error"], answer["needed"], answer["provided"]) == (
        "missing_scope",
        FILES_SCOPE,
        "chat:write",
    )
    await share_card(fake)  # the default workspace's token has the scope


# ------------------------------------------------------------------------------ test hooks


async def test_a_poster_killed_between_upload_and_completion_leaves_bytes_and_no_message(
    fake: FakeSlack,
) -> None:
    gate = fake.hold_next("files.completeUploadExternal", drop=True)
    poster = asyncio.create_task(share_card(fake))
    await fake.wait_until(lambda: fake.held["files.completeUploadExternal"] == 1, "the hold")

    [record] = fake.uploaded_files.values()
    assert record.data == CARD  # the upload is done...
    poster.cancel()
    gate.set()
    await fake.wait_for("files.completeUploadExternal")
    with pytest.raises(asyncio.CancelledError):
        await poster

    assert not record.completed  # ...and the completion never happened
    assert fake.file_messages("C1") == []


async def test_a_held_completion_released_shares_the_file(fake: FakeSlack) -> None:
    gate = fake.hold_next("files.completeUploadExternal")
    poster = asyncio.create_task(share_card(fake))
    await fake.wait_until(lambda: fake.held["files.completeUploadExternal"] == 1, "the hold")
    assert fake.file_messages("C1") == []

    gate.set()
    await poster

    assert len(fake.file_messages("C1")) == 1


async def test_dropped_uploads_fail_the_call_and_leave_no_bytes(fake: FakeSlack) -> None:
    fake.drop_next(UPLOAD)

    with pytest.raises(aiohttp.ClientError):
        await share_card(fake, retries=False)

    [record] = fake.uploaded_files.values()
    assert not record.uploaded
    assert fake.calls_to("files.completeUploadExternal") == []


async def test_a_dropped_completion_is_recorded_unanswered_and_changes_nothing(
    fake: FakeSlack,
) -> None:
    fake.drop_next("files.completeUploadExternal")

    with pytest.raises(aiohttp.ClientError):
        await share_card(fake, retries=False)

    calls = fake.calls_to("files.completeUploadExternal")
    assert [c.status for c in calls] == [0]
    assert calls[0].body["files"][0]["title"] == "Maxim 34"
    assert fake.file_messages("C1") == []


async def test_the_upload_url_takes_injected_failures(fake: FakeSlack) -> None:
    fake.fail_next(UPLOAD, "upload_failed")

    with pytest.raises(Exception, match="status: 400"):
        await share_card(fake)

    await share_card(fake)  # only the next upload failed
    assert len(fake.file_messages("C1")) == 1
