"""Provider-side collectors: the GPU lease agent and the storage sampler. Both build CloudEvents with
stable ids, write them to a disk spool first, and post the spool signed with the provider's key; while
the meter is unreachable the spool keeps them and a later flush resends them (duplicates are no-ops)."""
