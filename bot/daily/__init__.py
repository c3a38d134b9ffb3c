"""The daily post: pure time rules, the `/maxim daily` commands and the APScheduler scheduler.

`time_rules` is SDK-free; `commands` (what chat users say) never imports APScheduler; only
`scheduler` does, and it is imported where the bot starts, not by the commands.
"""
