-- 008_trade_aliases.sql - what site staff call a trade on one project. A category of an
-- inspection item may be written as the trade's code (waterproofing), its Chinese name
-- (防水, trades.name_zh) or an alias of the item's project (涂料 -> decoration); the
-- server resolves it to the code, which is what items and tickets store. An alias is
-- never a code or a Chinese name itself (org_trade_alias_add refuses those), so a
-- category resolves to one trade whatever the project.
CREATE TABLE trade_aliases (
    project_id  bigint NOT NULL REFERENCES projects (id),
    alias       text NOT NULL CHECK (length(alias) BETWEEN 1 AND 40),
    trade       text NOT NULL REFERENCES trades (code),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (project_id, alias)
);

CREATE TRIGGER trade_aliases_touch BEFORE UPDATE ON trade_aliases FOR EACH ROW
    EXECUTE FUNCTION cl_touch();
SELECT cl_track_table('trade_aliases', true);

-- The trade code a category names on a project: the code itself, a Chinese name, or one
-- of the project's aliases; NULL when it names none.
CREATE FUNCTION cl_trade_resolve(p_project bigint, p_category text)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT t.code FROM trades t WHERE t.code = p_category),
                    (SELECT t.code FROM trades t WHERE t.name_zh = p_category LIMIT 1),
                    (SELECT a.trade FROM trade_aliases a
                      WHERE a.project_id = p_project AND a.alias = p_category))
$$;

-- What a category may be on a project, for the message that refuses an unknown one:
-- "waterproofing (防水), civil (土建), ...; aliases: 涂料 -> decoration".
CREATE FUNCTION cl_trade_accepted(p_project bigint)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (SELECT string_agg(format('%s (%s)', t.code, t.name_zh), ', ' ORDER BY t.code)
              FROM trades t)
           || coalesce('; aliases of the project: '
                       || (SELECT string_agg(format('%s -> %s', a.alias, a.trade), ', '
                                             ORDER BY a.alias)
                             FROM trade_aliases a WHERE a.project_id = p_project), '')
$$;
