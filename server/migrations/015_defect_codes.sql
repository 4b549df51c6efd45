-- 015_defect_codes.sql - a defect's code names one defect across the group.
--
-- Codes are a project's prefix and its number (SJ01), and prefixes are unique, but a
-- project may change its prefix: another project could then take the old one and number
-- a second SJ01, and `cloop defect SJ01` would name two defects. The project prefix
-- statement refuses a prefix under which another project has numbered defects; this
-- index makes the rule the database's. Search words longer than 100 characters (a long
-- run of letters or digits, "kcal" repeated) are left out of the search vectors: a
-- tsvector word may not exceed 2,046 bytes, and such a word was refusing the item.
CREATE UNIQUE INDEX defects_code_key ON defects (code);

CREATE OR REPLACE FUNCTION cl_search_tokens(t text) RETURNS TABLE (tok text, pos bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT x.tok, x.pos
    FROM regexp_split_to_table(
             btrim(regexp_replace(
                 regexp_replace(lower(normalize(coalesce(t, ''), NFKC)),
                                '[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', ' | ', 'g'),
                 '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])', ' \1 ', 'g')),
             '\s+') WITH ORDINALITY AS x(tok, pos)
    WHERE x.tok <> '' AND length(x.tok) <= 100
$$;
