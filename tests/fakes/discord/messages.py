"""Messages on the emulated Discord: building, storing and dispatching them like Discord does.

A mixin of `FakeDiscord`. Users post with `send_message` (or `flood_messages`, for benchmarks);
the bot's own posts, interaction answers and follow-ups are built by the same `_build_message`
and echoed back over the gateway, with mentions resolved against ``allowed_mentions`` and content
stripped for sessions without the Message Content intent.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence

from tests.fakes.discord.gateway_wire import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    GatewayConnection,
    GatewaySession,
)
from tests.fakes.discord.wire import (
    JSON,
    MESSAGE_DEFAULT,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_REPLY,
    FakeChannel,
    _now_iso,
)

_USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


class Messages:
    """Building, storing and dispatching messages (see the module docstring)."""

    def _mentions(
        self, channel: FakeChannel, content: str, allowed: JSON | None, reference: JSON | None
    ) -> tuple[list[int], list[int], bool]:
        users = [int(u) for u in _USER_MENTION_RE.findall(content) if int(u) in self.users]
        roles = [int(r) for r in _ROLE_MENTION_RE.findall(content)]
        if channel.guild_id is not None:
            known = self.guilds[channel.guild_id].roles
            roles = [r for r in roles if r in known]
        everyone = "@everyone" in content or "@here" in content
        if allowed is not None:
            parse = allowed.get("parse") or []
            user_list = {str(u) for u in allowed.get("users") or []}
            role_list = {str(r) for r in allowed.get("roles") or []}
            users = [u for u in users if "users" in parse or str(u) in user_list]
            roles = [r for r in roles if "roles" in parse or str(r) in role_list]
            everyone = everyone and "everyone" in parse
            if allowed.get("replied_user") and reference is not None:
                ref_msg = self._message_store.get(int(reference.get("message_id") or 0))
                if ref_msg is not None:
                    users.append(int(ref_msg["author"]["id"]))
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone

    def _reference_payload(self, channel: FakeChannel, message_id: int) -> JSON:
        ref: JSON = {"type": 0, "message_id": str(message_id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            ref["guild_id"] = str(channel.guild_id)
        return ref

    def _build_message(
        self,
        channel: FakeChannel,
        author: JSON,
        *,
        content: str,
        embeds: list[JSON],
        attachments: list[JSON],
        allowed_mentions: JSON | None,
        reference: JSON | None,
        webhook_id: int | None = None,
        components: list[JSON] | None = None,
        flags: int = 0,
        nonce: str | int | None = None,
        tts: bool = False,
        message_type: int | None = None,
        extra: JSON | None = None,
    ) -> JSON:
        mention_ids, role_ids, everyone = self._mentions(
            channel, content, allowed_mentions, reference
        )
        msg_type = (
            message_type
            if message_type is not None
            else (MESSAGE_REPLY if reference else MESSAGE_DEFAULT)
        )
        msg: JSON = {
            "id": str(self.snowflake()),
            "type": msg_type,
            "channel_id": str(channel.id),
            "author": author,
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": tts,
            "mention_everyone": everyone,
            "mentions": [self.users[u].payload() for u in mention_ids],
            "mention_roles": [str(r) for r in role_ids],
            "attachments": attachments,
            "embeds": [{"type": "rich", **e} for e in embeds],
            "pinned": False,
            "flags": flags,
            "components": components or [],
        }
        if webhook_id is not None:
            msg["webhook_id"] = str(webhook_id)
        if nonce is not None:
            msg["nonce"] = nonce
        if reference is not None:
            msg["message_reference"] = reference
            ref_msg = self._message_store.get(int(reference.get("message_id") or 0))
            msg["referenced_message"] = copy.deepcopy(ref_msg) if ref_msg is not None else None
        if extra:
            msg.update(extra)
        return msg

    def _store_message(self, msg: JSON) -> None:
        mid = int(msg["id"])
        self._message_store[mid] = msg
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is not None:
            channel.last_message_id = mid

    def _gateway_message(self, msg: JSON, channel: FakeChannel, *, webhook: bool) -> JSON:
        data = copy.deepcopy(msg)
        if channel.guild_id is None:
            return data
        guild = self.guilds[channel.guild_id]
        data["guild_id"] = str(guild.id)
        author_id = int(data["author"]["id"])
        if not webhook and author_id in guild.members:
            data["member"] = guild.members[author_id].payload()
        for mention in data["mentions"]:
            member = guild.members.get(int(mention["id"]))
            if member is not None:
                mention["member"] = member.payload()
        ref = data.get("referenced_message")
        if isinstance(ref, dict):
            ref["guild_id"] = str(guild.id)
        return data

    async def _dispatch_message(
        self,
        msg: JSON,
        channel: FakeChannel,
        author_id: int,
        *,
        webhook: bool = False,
        event: str = "MESSAGE_CREATE",
    ) -> None:
        if not self.bot_sees(channel):
            return  # Discord sends no events of channels the bot is not in
        payload = self._gateway_message(msg, channel, webhook=webhook)
        required = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES
        bot_mentioned = any(int(m["id"]) == self.bot_id for m in payload["mentions"])
        keeps_content = channel.is_dm or author_id == self.bot_id or bot_mentioned

        def per_session(session: GatewaySession, data: JSON) -> JSON | None:
            if not session.intents & required:
                return None
            if session.intents & INTENT_MESSAGE_CONTENT or keeps_content:
                return data
            stripped = copy.deepcopy(data)
            stripped.update(content="", embeds=[], attachments=[], components=[])
            stripped.pop("poll", None)
            return stripped

        await self.gateway.dispatch(
            event, payload, guild_id=channel.guild_id, transform=per_session
        )

    async def _echo(self, msg: JSON, *, event: str = "MESSAGE_CREATE") -> None:
        """Dispatch the bot's own (non-ephemeral) message back, like Discord."""
        if int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL:
            return
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is None:
            return
        await self._dispatch_message(
            msg, channel, int(msg["author"]["id"]), webhook=False, event=event
        )

    async def _dispatch_delete(self, msg: JSON) -> None:
        channel = self.channels.get(int(msg["channel_id"]))
        ephemeral = int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL
        if channel is None or ephemeral or not self.bot_sees(channel):
            return
        data: JSON = {"id": msg["id"], "channel_id": msg["channel_id"]}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        required = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES

        def per_session(session: GatewaySession, payload: JSON) -> JSON | None:
            return payload if session.intents & required else None

        await self.gateway.dispatch(
            "MESSAGE_DELETE", data, guild_id=channel.guild_id, transform=per_session
        )

    async def send_message(
        self,
        channel_id: int | None = None,
        content: str = "",
        *,
        author_id: int | None = None,
        bot: bool = False,
        webhook_id: int | None = None,
        username: str | None = None,
        embeds: list[JSON] | None = None,
        reply_to: int | None = None,
        attachments: list[JSON] | None = None,
    ) -> int:
        """A user posts in a channel: stores the message and dispatches MESSAGE_CREATE.

        The author defaults to the default human member; ``bot=True`` without
        ``author_id`` uses a separate bot account; ``webhook_id`` makes it a
        webhook message.  Like Discord, clients without the message-content
        intent receive ``content=""`` unless the bot is mentioned or it is a DM.
        Returns the message id.
        """
        channel = self._channel(channel_id or self.default_channel_id)
        if webhook_id is not None:
            author = {
                "id": str(webhook_id),
                "username": username or "Captain Hook",
                "discriminator": "0000",
                "global_name": None,
                "avatar": None,
                "bot": True,
            }
            author_uid = webhook_id
        else:
            user = self._ensure_user(author_id, bot=bot, username=username)
            if (
                channel.guild_id is not None
                and user.id not in self.guilds[channel.guild_id].members
            ):
                self.add_member(channel.guild_id, user.id)
            author = user.payload()
            author_uid = user.id
        msg = self._build_message(
            channel,
            author,
            content=content,
            embeds=embeds or [],
            attachments=attachments or [],
            allowed_mentions=None,
            reference=self._reference_payload(channel, reply_to) if reply_to else None,
            webhook_id=webhook_id,
        )
        self._store_message(msg)
        await self._dispatch_message(msg, channel, author_uid, webhook=webhook_id is not None)
        return int(msg["id"])

    async def flood_messages(
        self,
        contents: Sequence[str],
        channel_id: int | None = None,
        *,
        author_id: int | None = None,
        connection: GatewayConnection | None = None,
    ) -> list[int]:
        """Push one MESSAGE_CREATE per content as fast as the clients take them (benchmarks).

        Unlike :meth:`send_message`, nothing is stored or recorded and the events are not
        replayed on RESUME: each distinct content becomes one JSON template (intents applied
        per session, like :meth:`send_message`), every message gets a fresh id spliced into
        it, and the frames are encoded and compressed before the first one is sent, so the
        emulator's own cost stays out of the client's way.  ``connection`` limits the flood to
        that connection's session (to compare clients connected side by side).  Returns the
        message ids.
        """
        channel = self._channel(channel_id or self.default_channel_id)
        user = self._ensure_user(author_id)
        if channel.guild_id is not None and user.id not in self.guilds[channel.guild_id].members:
            self.add_member(channel.guild_id, user.id)
        placeholder = "\u0000message-id\u0000"
        templates: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}
        for content in dict.fromkeys(contents):
            msg = self._build_message(
                channel,
                user.payload(),
                content=content,
                embeds=[],
                attachments=[],
                allowed_mentions=None,
                reference=None,
            )
            data = self._gateway_message(msg, channel, webhook=False)
            data["id"] = placeholder
            stripped = copy.deepcopy(data)
            stripped.update(content="", embeds=[], attachments=[], components=[])
            pair = []
            for variant in (data, stripped):
                raw = json.dumps(variant, separators=(",", ":"), ensure_ascii=False)
                before, after = raw.split(json.dumps(placeholder), 1)
                pair.append((before + '"', '"' + after))
            templates[content] = (pair[0], pair[1])
        ids = [self.snowflake() for _ in contents]
        required = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES

        def bodies_for(session: GatewaySession) -> list[str] | None:
            if connection is not None and session is not connection.session:
                return None
            if not session.intents & required:
                return None
            variant = 0 if channel.is_dm or session.intents & INTENT_MESSAGE_CONTENT else 1
            return [
                f"{templates[content][variant][0]}{mid}{templates[content][variant][1]}"
                for content, mid in zip(contents, ids, strict=True)
            ]

        await self.gateway.flood("MESSAGE_CREATE", bodies_for, guild_id=channel.guild_id)
        return ids
