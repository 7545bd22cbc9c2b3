"""The audit trail: who (bot, member, system) changed what, in the transaction of the change."""
