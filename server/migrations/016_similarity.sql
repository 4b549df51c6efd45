-- 016_similarity.sql - one measure of how alike two texts are.
--
-- The Jaccard index of the sets of characters, bigrams and words of two search vectors
-- (cl_search_vector), 0..1, in PostgreSQL's own tsvector functions. Recurring-defect
-- proposals (server/defect), the duplicate flag at entry (server/inspection) and case
-- matching (server/lesson) all compare with it; over vectors already made (an item's
-- search column) it costs no text processing. cl_text_similarity (011) is the same
-- measure over two texts, and is now defined by it instead of a second computation.
CREATE OR REPLACE FUNCTION cl_vector_similarity(a tsvector, b tsvector) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(a) + length(b) = 0 THEN 0::real
                ELSE (length(a) - length(ts_delete(a, tsvector_to_array(b))))::real
                     / (length(b) + length(ts_delete(a, tsvector_to_array(b))))
           END
$$;

CREATE OR REPLACE FUNCTION cl_text_similarity(a text, b text) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT cl_vector_similarity(cl_search_vector(a), cl_search_vector(b))
$$;
