-- check.sql: what the ingest benchmark left in the store, checked after the host stopped.
-- run.sh loads temp.sent (every delivery wrk sent in the peak run: id, version),
-- temp.paced_ok (every delivery the paced client got a 2xx for) and @in_flight (deliveries wrk
-- sent whose answer it never read because the run ended).
.mode list
.headers off

CREATE TEMP TABLE stored AS
    SELECT id, source_id, end_user_id, rollup_score, comment, state, created_ms
    FROM nps_responses WHERE tenant = 'bench' AND source = 'satismeter';
CREATE INDEX temp.stored_source_id ON stored(source_id);

-- The latest rated response of each End User, recounted from the responses alone.
CREATE TEMP TABLE latest AS
    SELECT u.id AS user_id, u.company_id, r.rollup_score AS score
    FROM end_users u JOIN nps_responses r ON r.id = (
        SELECT id FROM nps_responses WHERE end_user_id = u.id AND rollup_score IS NOT NULL
        ORDER BY created_ms DESC, source_id DESC LIMIT 1)
    WHERE u.tenant = 'bench';
CREATE INDEX temp.latest_user ON latest(user_id);

SELECT CASE WHEN s = @sent_lines AND p = @paced_lines THEN 'ok' ELSE 'FAIL' END ||
       ': logs read whole: ' || s || ' of ' || @sent_lines || ' sent, ' || p || ' of ' ||
       @paced_lines || ' paced 2xx'
FROM (SELECT (SELECT count(*) FROM sent) AS s, (SELECT count(*) FROM paced_ok) AS p);

SELECT CASE WHEN n = 0 THEN 'ok' ELSE 'FAIL' END || ': responses stored more than once: ' || n
FROM (SELECT count(*) - count(DISTINCT source_id) AS n FROM stored);

SELECT CASE WHEN n <= @in_flight THEN 'ok' ELSE 'FAIL' END ||
       ': peak run: ids sent but not stored: ' || n || ' (at most the ' || @in_flight ||
       ' requests in flight when wrk stopped)'
FROM (SELECT count(DISTINCT id) AS n FROM sent WHERE id NOT IN (SELECT source_id FROM stored));

SELECT CASE WHEN n = 0 THEN 'ok' ELSE 'FAIL' END ||
       ': paced run: 2xx-answered deliveries not stored: ' || n || ' of ' || total
FROM (SELECT count(*) AS n, (SELECT count(*) FROM paced_ok) AS total FROM paced_ok
      WHERE id NOT IN (SELECT source_id FROM stored));

SELECT CASE WHEN n = 0 THEN 'ok' ELSE 'FAIL' END ||
       ': paced run: answered updates (comment added) not in the stored version: ' || n
FROM (SELECT count(*) AS n FROM paced_ok p JOIN stored s ON s.source_id = p.id
      WHERE p.version = 1 AND s.state <> 'dismissed' AND s.comment IS NULL);

SELECT CASE WHEN n = 0 THEN 'ok' ELSE 'FAIL' END || ': stored ids that were never sent: ' || n
FROM (SELECT count(*) AS n FROM stored
      WHERE source_id NOT IN (SELECT id FROM sent UNION SELECT id FROM paced_ok));

SELECT CASE WHEN n = 0 THEN 'ok' ELSE 'FAIL' END ||
       ': End Users whose score differs from their latest rated response: ' || n
FROM (SELECT count(*) AS n FROM end_users u LEFT JOIN latest l ON l.user_id = u.id
      WHERE u.tenant = 'bench' AND u.nps_score IS NOT l.score);

SELECT CASE WHEN n = 0 THEN 'ok' ELSE 'FAIL' END ||
       ': Companies whose figures differ from a recount: ' || n || ' of ' || total
FROM (SELECT count(*) AS n, (SELECT count(*) FROM companies WHERE tenant = 'bench') AS total
      FROM companies c LEFT JOIN (
          SELECT company_id, sum(score >= 9) AS p, sum(score BETWEEN 7 AND 8) AS pa,
                 sum(score <= 6) AS d, sum(score) AS s
          FROM latest GROUP BY company_id) r ON r.company_id = c.id
      WHERE c.tenant = 'bench' AND (c.promoters <> coalesce(r.p, 0) OR
            c.passives <> coalesce(r.pa, 0) OR c.detractors <> coalesce(r.d, 0) OR
            c.score_sum <> coalesce(r.s, 0)));

SELECT CASE WHEN t.promoters = r.p AND t.passives = r.pa AND t.detractors = r.d AND
                 t.score_sum = r.s THEN 'ok' ELSE 'FAIL' END ||
       ': portfolio figures equal a recount: ' ||
       coalesce(t.promoters || '/' || t.passives || '/' || t.detractors, 'no portfolio row') ||
       ' (promoters/passives/detractors)'
FROM (SELECT coalesce(sum(score >= 9), 0) AS p, coalesce(sum(score BETWEEN 7 AND 8), 0) AS pa,
             coalesce(sum(score <= 6), 0) AS d, coalesce(sum(score), 0) AS s
      FROM latest) r
LEFT JOIN tenant_rollups t ON t.tenant = 'bench';

SELECT 'stored: ' || count(*) || ' responses, ' || sum(end_user_id IS NOT NULL) || ' matched, ' ||
       sum(end_user_id IS NULL) || ' unmatched; ' ||
       (SELECT count(*) FROM latest) || ' End Users with a score'
FROM stored;
