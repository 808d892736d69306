-- webhook.lua: wrk script posting SatisMeter webhook deliveries in the real format.
--
-- usage: wrk ... -s webhook.lua URL -- PATH LOG_DIR RUN
--   PATH     the webhook path, /hooks/satismeter/<key>
--   LOG_DIR  where each thread logs the response id and version of every request it sends
--            ("-" for no log: the ceiling run)
--   RUN      a number that keeps the response ids of separate runs apart
--
-- The mix, per thread: 70% new responses (7% of them dismissed), 15% repeats of a delivery
-- already sent, 15% updates (a rated response gets its comment and possibly a new rating).
-- Emails spread over the provisioned End Users user<N>@c<N mod 1000>.example in varied case and
-- spacing and at the three places SatisMeter puts them; 5% match no End User, 2% carry none.
-- Everything derives from the thread number and a counter, so a run is reproducible.

local threads = {}
local thread_count = 0

function setup(thread)
    thread_count = thread_count + 1
    thread:set("tid", thread_count)
    table.insert(threads, thread)
end

local ratings = {0, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 9, 10, 10, 10, 10}
local comments = {
    "The new reporting saves my team hours every week.",
    "Onboarding took too long, but support was great.",
    "Please add an export to CSV for the dashboards.",
    "Does what we need.",
}
local base_time = 1709251200 -- 2024-03-01T00:00:00Z

local path, log, run
local created, versions = 0, {}
sent, ok, bad = 0, 0, 0

function init(args)
    path = args[1]
    run = tonumber(args[3] or "1")
    if args[2] and args[2] ~= "-" then
        log = io.open(string.format("%s/sent-%d.log", args[2], tid), "w")
        log:setvbuf("full", 65536)
    end
    math.randomseed(run * 1000 + tid)
end

-- A stable per-response number from which every attribute of the response derives.
local function mix(k)
    return (k * 2654435761 + tid * 40503 + run * 9973) % 4294967296
end

local function email_of(k, h)
    local kind = math.floor(h / 20000) % 100
    if kind < 2 then
        return nil
    end
    local email
    if kind < 7 then
        email = string.format("visitor%d-%d-%d@prospect.example", run, tid, k)
    else
        local u = h % 20000
        email = string.format("user%d@c%03d.example", u, u % 1000)
    end
    if math.floor(h / 7) % 5 == 0 then
        email = email:sub(1, 1):upper() .. email:sub(2, -8) .. "EXAMPLE"
    end
    if math.floor(h / 11) % 7 == 0 then
        email = "  " .. email .. " "
    end
    return email
end

-- The delivery for response k at version v (0: rating only, 1: rating and comment).
local function body_of(k, v)
    local h = mix(k)
    local id = string.format("%08x%08x%08x", run, tid, k)
    local dismissed = math.floor(h / 13) % 100 < 7
    local when = os.date("!%Y-%m-%dT%H:%M:%S", base_time + k * 13) ..
                     string.format(".%03dZ", k % 1000)
    local email = email_of(k, h)
    local place = math.floor(h / 17) % 10
    local user_email, trait_email, top_email = "", "", ""
    if email then
        local quoted = '"' .. email .. '"'
        if place < 7 then
            user_email = ',"email":' .. quoted
        elseif place < 9 then
            trait_email = '"email":' .. quoted
        else
            top_email = '"email":' .. quoted .. ","
        end
    end
    local user = string.format(
        '"user":{"id":"5e00%020x","userId":"u-%d","name":"User %d"%s,"deleted":false,' ..
            '"groups":{},"traits":{%s}}', h, h % 20000, h % 20000, user_email, trait_email)

    local rating_part, answers, feedback = "", "", ""
    if not dismissed then
        local rating = ratings[h % 19 + 1]
        if v > 0 then
            rating = ratings[math.floor(h / 3) % 19 + 1]
            local comment = comments[h % 4 + 1]
            feedback = string.format('"feedback":"%s",', comment)
            answers = string.format(
                ',{"id":"0b6c2f5e-1111-4d2a-9c1e-000000000002","label":"What is the main ' ..
                    'reason for your score?","name":"SM_comment","type":"long-text",' ..
                    '"value":"%s"}', comment)
        end
        local category = rating >= 9 and "promoter" or (rating >= 7 and "passive" or "detractor")
        local score = rating >= 9 and 100 or (rating >= 7 and 0 or -100)
        rating_part = string.format('"rating":%d,"category":"%s","score":%d,', rating, category,
                                    score)
        answers = string.format(
            '"answers":[{"id":"0b6c2f5e-1111-4d2a-9c1e-000000000001","label":"How likely are ' ..
                'you to recommend us?","name":"SM_rating","type":"scale","metric":"nps",' ..
                '"value":%d}%s],', rating, answers)
    end

    return string.format(
        '{"event":"%s","campaign":{"id":"65f0a1b2c3d4e5f60718293a","name":"Quarterly NPS"},' ..
            '"traits":{%s"name":"User %d"},"response":{"id":"%s","created":"%s",%s%s' ..
            '"completed":%s,"dismissed":%s,"pending":false,"method":"In-app","language":"en",' ..
            '%s%s,"project":"5f1e2d3c4b5a697887766554","campaign":"65f0a1b2c3d4e5f60718293a",' ..
            '"ip":"192.0.2.10","device":{"os":"macOS","type":"desktop"},"location":' ..
            '{"country":"DE","countryName":"Germany"}}}',
        dismissed and "dismissed" or "completed", top_email, h % 20000, id, when, rating_part,
        feedback, tostring(not dismissed), tostring(dismissed), answers, user), id
end

local headers = {["Content-Type"] = "application/json", ["User-Agent"] = "SatisMeter"}

function request()
    local k, v
    local r = math.random()
    if created < 100 or r < 0.70 then
        created = created + 1
        k, v = created, 0
        versions[k] = 0
    else
        k = math.random(created)
        v = versions[k]
        if r >= 0.85 then
            v = 1
            versions[k] = 1
        end
    end
    local body, id = body_of(k, v)
    sent = sent + 1
    if log then
        log:write(id, " ", v, "\n")
    end
    return wrk.format("POST", path, headers, body)
end

function response(status)
    if status >= 200 and status < 300 then
        ok = ok + 1
    else
        bad = bad + 1
    end
    -- The last lines reach the file when wrk exits; flushing often keeps them from being lost
    -- if it does not exit cleanly.
    if log and ok % 4096 == 0 then
        log:flush()
    end
end

function done(summary, latency)
    local s, o, b = 0, 0, 0
    for _, t in ipairs(threads) do
        s = s + t:get("sent")
        o = o + t:get("ok")
        b = b + t:get("bad")
    end
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
            "max_ms=%.3f sent=%d ok=%d not_ok=%d connect_errors=%d read_errors=%d " ..
            "write_errors=%d timeouts=%d\n", summary.requests, summary.duration / 1e6,
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
        latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, s, o,
        b, e.connect, e.read, e.write, e.timeout))
end
