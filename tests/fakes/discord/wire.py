"""Discord's wire vocabulary for the loopback emulator: ids, bits, enums and the state objects.

Plain data with their JSON shapes (``payload()``), so the REST and gateway halves of the emulator
describe users, guilds, channels and members exactly as Discord's API does.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
NONCE_WINDOW_SECONDS = 300.0
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # advertised in interactions

# -- permission bits (https://discord.com/developers/docs/topics/permissions) --
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)

# -- application flags advertised in READY / application info --
APP_FLAG_GATEWAY_PRESENCE_LIMITED = 1 << 13
APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
APP_FLAG_APPLICATION_COMMAND_BADGE = 1 << 23

# -- channel, message and interaction enums used on the wire --
CHANNEL_TEXT = 0
CHANNEL_DM = 1
CHANNEL_VOICE = 2
CHANNEL_GROUP_DM = 3
CHANNEL_NEWS = 5
CHANNEL_PUBLIC_THREAD = 11
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
MESSAGE_CONTEXT_MENU_COMMAND = 23
MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
# Where an interaction happened, and which installs of the app authorised it (the keys of
# ``authorizing_integration_owners``): Discord's InteractionContextType and integration types.
CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1
CONTEXT_PRIVATE_CHANNEL = 2
GUILD_INSTALL = "0"
USER_INSTALL = "1"


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class SnowflakeFactory:
    """Strictly increasing snowflakes whose timestamp part is 'now'.

    Real-looking ids matter: discord.py derives ``created_at`` from them, and
    increasing ids keep history ordering sane.
    """

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        """Return the next id."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


@dataclass
class FakeUser:
    """A Discord user (human, bot or the bot itself)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> JSON:
        """Wire shape of a user object."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }


@dataclass
class FakeRole:
    """A guild role; the role whose id equals the guild id is @everyone."""

    id: int
    name: str
    permissions: int
    position: int = 0
    bot_id: int | None = None

    def payload(self) -> JSON:
        """Wire shape of a role object."""
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.bot_id is not None,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeChannel:
    """A guild channel (text/voice/category/news) or a DM channel."""

    id: int
    name: str
    type: int = CHANNEL_TEXT
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    overwrites: list[JSON] = field(default_factory=list)
    recipient_ids: list[int] = field(default_factory=list)
    last_message_id: int | None = None
    owner_id: int | None = None  # threads: who started it; group DMs: who made it
    bot_member: bool = True  # False: a private channel among users, never the bot's

    @property
    def is_thread(self) -> bool:
        """True for threads (their permissions are their parent channel's)."""
        return self.type == CHANNEL_PUBLIC_THREAD

    @property
    def is_dm(self) -> bool:
        """True for DM and group DM channels (no guild)."""
        return self.type in (CHANNEL_DM, CHANNEL_GROUP_DM)

    def payload(self, users: Mapping[int, FakeUser], *, include_guild_id: bool = True) -> JSON:
        """Wire shape of a channel object."""
        last = str(self.last_message_id) if self.last_message_id else None
        if self.is_dm:
            private: JSON = {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": last,
                "flags": 0,
                "recipients": [users[u].payload() for u in self.recipient_ids if u in users],
            }
            if self.type == CHANNEL_GROUP_DM:
                private.update(name=self.name or None, icon=None, owner_id=str(self.owner_id))
            return private
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": copy.deepcopy(self.overwrites),
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "nsfw": self.nsfw,
            "flags": 0,
        }
        if include_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.type in (CHANNEL_TEXT, CHANNEL_NEWS):
            data.update(
                topic=self.topic,
                last_message_id=last,
                rate_limit_per_user=0,
                default_auto_archive_duration=1440,
            )
        elif self.type == CHANNEL_VOICE:
            data.update(bitrate=64000, user_limit=0, rtc_region=None, last_message_id=last)
        elif self.is_thread:
            del data["permission_overwrites"], data["position"]  # a thread has neither
            data.update(
                owner_id=str(self.owner_id),
                last_message_id=last,
                rate_limit_per_user=0,
                message_count=0,
                member_count=1,
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": _now_iso(),
                    "locked": False,
                },
            )
        return data


@dataclass
class FakeMember:
    """Membership of a user in a guild (roles exclude @everyone, like the API)."""

    user_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=_now_iso)

    def payload(self, user: FakeUser | None = None, *, permissions: int | None = None) -> JSON:
        """Wire shape of a guild member (with ``user`` when given)."""
        data: JSON = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if user is not None:
            data["user"] = user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeGuild:
    """A guild with roles, channels and members."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    locale: str = "en-US"
    joined_at: str = field(default_factory=_now_iso)

    @property
    def everyone(self) -> FakeRole:
        """The @everyone role (same id as the guild)."""
        return self.roles[self.id]

    def text_channels(self) -> list[FakeChannel]:
        """Text channels, in position order."""
        found = [c for c in self.channels.values() if c.type in (CHANNEL_TEXT, CHANNEL_NEWS)]
        return sorted(found, key=lambda c: (c.position, c.id))
