"""`Background`: the one place Slack replies and the scheduler's sweeps and posts run beside
their caller. Each task is an error boundary; stopping waits, then cancels. No sleeps on a
clock: tasks wait on events the test sets."""

import asyncio
import logging
import re

from bot.background import Background

APOLOGY = re.compile(
    r"Something went wrong on my side \(ref (\w+)\)\. Please try again in a moment\."
)


async def test_a_failing_task_is_logged_once_with_a_reference_and_apologised_for(caplog):
    background = Background("test")
    apologies: list[str] = []

    async def broken():
        raise RuntimeError("secret internals")

    async def apologise(text: str):
        apologies.append(text)

    background.spawn(broken(), "the broken job", apologise)
    assert await background.drain(timeout=5)

    assert len(apologies) == 1
    ref = APOLOGY.fullmatch(apologies[0]).group(1)  # no exception text for the user
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [f"the broken job failed (ref {ref})"]
    assert errors[0].exc_info[1].args == ("secret internals",)  # the traceback is for us
    assert background.pending == 0


async def test_a_failing_apology_is_a_warning_not_a_crash(caplog):
    background = Background("test")

    async def broken():
        raise RuntimeError("first")

    async def apologise(text: str):
        raise ConnectionError("the chat is gone too")

    background.spawn(broken(), "the reply", apologise)
    assert await background.drain(timeout=5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["could not tell the user that the reply failed"]
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


async def test_work_that_succeeds_logs_nothing_and_returns_its_task(caplog):
    background = Background("test")
    done: list[int] = []

    async def work():
        done.append(1)

    task = background.spawn(work(), "quiet work")
    await task
    assert (done, background.pending, caplog.records) == ([1], 0, [])


async def until(predicate) -> None:
    """Let other tasks run until `predicate()` holds (bounded, so a bug fails, not hangs)."""
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0)


async def test_drain_waits_for_tasks_spawned_meanwhile():
    background = Background("test")
    go, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def child():
        await release.wait()
        order.append("child")

    async def parent():
        await go.wait()
        background.spawn(child(), "the child")  # spawned while drain is already waiting
        order.append("parent")

    background.spawn(parent(), "the parent")
    draining = asyncio.ensure_future(background.drain(timeout=5))
    await asyncio.sleep(0)  # drain is now waiting for the parent alone
    go.set()
    await until(lambda: order == ["parent"] and background.pending == 1)
    await asyncio.sleep(0.01)
    assert not draining.done()  # the parent is done, but drain waits for its child too
    release.set()
    assert await draining is True
    assert order == ["parent", "child"]
    assert background.pending == 0


async def test_drain_gives_up_after_its_timeout():
    background = Background("test")
    never = asyncio.Event()
    task = background.spawn(never.wait(), "a stuck job")
    assert await background.drain(timeout=0.05) is False
    assert background.pending == 1  # drain only waits; it never cancels
    task.cancel()
    assert await background.drain(timeout=5) is True


async def test_close_lets_work_finish_within_the_timeout():
    background = Background("test")
    finished = asyncio.Event()

    async def short():
        await asyncio.sleep(0)
        finished.set()

    background.spawn(short(), "short work")
    await background.close(timeout=5)
    assert finished.is_set()
    assert background.pending == 0


async def test_close_cancels_what_is_still_running_after_the_timeout(caplog):
    background = Background("Slack")
    never = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck():
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    task = background.spawn(stuck(), "a stuck reply")
    await asyncio.sleep(0)  # let it start, so it sees the cancellation
    await background.close(timeout=0.05)
    assert task.cancelled()
    assert cancelled == [True]
    assert background.pending == 0
    assert "cancelling 1 unfinished Slack task(s)" in caplog.text
    assert "failed (ref" not in caplog.text  # a cancellation is not a failure
