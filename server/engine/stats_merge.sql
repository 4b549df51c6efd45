-- stats_merge.sql - the statistics merge of server/engine/stats_merge.c: folds the pending
-- deltas of the statistics summaries into them (cl_stats_merge, migration 020). One row:
-- the number of delta rows merged (0 when another session was merging).
PREPARE stats_merge AS
SELECT cl_stats_merge() AS merged;
