-- Schema version 6: several modems behind one api.
--
-- A modem row stays the SIM in a stick; name is the configured id (a
-- short name the user chose, e.g. "modem" or "at") of the api's modem
-- entry that last saw it, so that a SIM moved to another slot or host
-- keeps its history under its new name.
ALTER TABLE modems ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- route: the configured ids of the modems that may send an outbound
-- message, as ",a,b," ('' for any modem): the one a client pinned it to,
-- or those of the prefix rule its recipient matched. A message in flight
-- on a modem that goes down returns to the queue (Store.Release) only
-- while none of its parts may have reached the network, and only another
-- modem of its route claims it.
ALTER TABLE messages ADD COLUMN route TEXT NOT NULL DEFAULT '';
