-- 006_user_rows.sql - a user as the identity statements read it: the WhoAmI fields first,
-- then the key_ columns only the login check needs.
CREATE VIEW user_rows AS
SELECT u.id AS id,
       u.username AS username,
       u.display_name AS display_name,
       u.role AS role,
       coalesce(u.company_id, 0) AS company_id,
       coalesce(u.contractor_id, 0) AS contractor_id,
       coalesce(c.name, '') AS company_name,
       coalesce(k.name, '') AS contractor_name,
       coalesce((SELECT array_agg(up.project_id ORDER BY up.project_id) FROM user_projects up
                  WHERE up.user_id = u.id)::text, '{}') AS project_ids,
       u.password_hash AS key_password_hash,
       u.disabled AS key_disabled
  FROM users u
  LEFT JOIN companies c ON c.id = u.company_id
  LEFT JOIN contractors k ON k.id = u.contractor_id;
