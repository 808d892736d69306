// admin.cpp: the admin API under /api/v1 (tenants, data, installations, NPS).
#include "app/app.hpp"

#include "app/jobs.hpp"
#include "app/json_io.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <tributary/email.hpp>

#include <regex>

namespace tributary::host {

namespace bj = boost::json;
using http::bhttp::status;
using http::bhttp::verb;

namespace {

bool valid_tenant_id(std::string_view id) {
    if (id.empty() || id.size() > 63) {
        return false;
    }
    for (char c : id) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return false;
        }
    }
    return true;
}

std::string error_text(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "unknown error";
    }
}

// Runs a write and answers with what `answer` builds from its result, or with the error.
template <class R>
void write_then_answer(store& s, const http::request& req, http::responder respond,
                       std::function<R(write_txn&)> work,
                       std::function<http::response(const R&)> answer) {
    auto result = std::make_shared<std::optional<R>>();
    auto version = req.version();
    auto keep_alive = req.keep_alive();
    s.write(
        [work = std::move(work), result](write_txn& txn) { *result = work(txn); },
        [respond = std::move(respond), answer = std::move(answer), result, version,
         keep_alive](std::exception_ptr e) mutable {
            if (!e) {
                respond(answer(**result));
                return;
            }
            try {
                std::rethrow_exception(e);
            } catch (const invalid_input& bad) {
                respond(http::make_json_response(version, keep_alive, status::bad_request,
                                                 to_json_text(bj::object{{"error", bad.what()}})));
                return;
            } catch (...) {
            }
            log::error("admin write failed", {{"reason", error_text(e)}});
            respond(http::make_json_response(version, keep_alive, status::service_unavailable,
                                             R"({"error":"storage unavailable"})"));
        });
}

bj::object counts_json(const upsert_counts& c) {
    bj::object o{{"inserted", c.inserted}, {"updated", c.updated}, {"unchanged", c.unchanged}};
    if (c.matched_responses > 0) {
        o["matchedResponses"] = c.matched_responses;
    }
    if (!c.conflicts.empty()) {
        bj::array conflicts;
        for (const auto& e : c.conflicts) {
            conflicts.emplace_back(e);
        }
        o["conflicts"] = std::move(conflicts);
    }
    return o;
}

// Stores a bulk upsert with its audit entry in one write and answers the counts.
template <class Row, class Upsert>
void bulk_upsert(store& s, const http::request& req, http::responder respond,
                 const std::string& tenant, std::vector<Row> rows, audit_entry audit,
                 Upsert upsert) {
    write_then_answer<upsert_counts>(
        s, req, std::move(respond),
        [tenant, rows = std::move(rows), audit = std::move(audit), upsert](write_txn& txn) {
            auto counts = upsert(txn, tenant, rows);
            auto entry = audit;
            auto after = counts_json(counts);
            after["rows"] = static_cast<std::int64_t>(rows.size());
            entry.after = to_json_text(after);
            txn.insert_audit(entry);
            return counts;
        },
        [version = req.version(), keep_alive = req.keep_alive()](const upsert_counts& c) {
            return http::make_json_response(version, keep_alive, status::ok,
                                            to_json_text(counts_json(c)));
        });
}

bj::object figures_json(const nps_view& v) {
    return {{"nps", optional_number(v.figures.score())},
            {"promoters", v.figures.promoters},
            {"passives", v.figures.passives},
            {"detractors", v.figures.detractors},
            {"responses", v.figures.responses()},
            {"averageScore", optional_number(v.figures.average())},
            {"updatedAt", v.updated_ms ? bj::value(format_time_ms(*v.updated_ms)) : nullptr}};
}

std::optional<std::string> string_field(const bj::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_string()) {
        return std::nullopt;
    }
    return std::string(it->value().get_string());
}

}  // namespace

void app::route_admin(request& req, http::responder& respond, const actor& who) {
    std::string_view target = req.target();
    auto parts = split_path(target.substr(0, target.find('?')));
    if (!parts || parts->size() < 3) {
        respond(error_response(req, status::not_found, "not found"));
        return;
    }
    const auto& p = *parts;  // p[0] = "api", p[1] = "v1"
    auto n = p.size();
    auto m = req.method();
    auto is = [&](std::size_t i, std::string_view s) { return n > i && p[i] == s; };
    if (route_access(req, respond, who, p)) {
        return;
    }

    if (n == 3 && is(2, "connectors") && m == verb::get) {
        respond(list_connectors(req));
    } else if (n == 3 && is(2, "tenants") && m == verb::post) {
        respond(create_tenant(req, who));
    } else if (n == 4 && is(2, "jobs") && m == verb::get) {
        respond(get_job(req, p[3], who));
    } else if (n == 5 && is(2, "jobs") && is(4, "cancel") && m == verb::post) {
        respond(cancel_job(req, p[3], who));
    } else if (n >= 5 && is(2, "tenants")) {
        const std::string& tenant = p[3];
        bool known = store_->read([&](read_txn& txn) { return txn.tenant_exists(tenant); });
        if (!known) {
            respond(error_response(req, status::not_found, "no such tenant"));
            return;
        }
        const std::string& area = p[4];
        if (n == 5 && area == "companies" && m == verb::put) {
            upsert_companies(req, tenant, std::move(respond), who);
        } else if (n == 5 && area == "endusers" && m == verb::put) {
            upsert_end_users(req, tenant, std::move(respond), who);
        } else if (n == 6 && area == "endusers" && m == verb::get) {
            respond(get_end_user(req, tenant, p[5]));
        } else if (n == 7 && area == "companies" && is(6, "nps") && m == verb::get) {
            respond(company_nps(req, tenant, p[5]));
        } else if (n == 5 && area == "nps" && m == verb::get) {
            respond(portfolio_nps(req, tenant));
        } else if (n == 6 && area == "nps" && is(5, "unmatched") && m == verb::get) {
            respond(unmatched(req, tenant));
        } else if (n == 5 && area == "installations" && m == verb::post) {
            create_installation(req, tenant, std::move(respond), who);
        } else if (n == 5 && area == "installations" && m == verb::get) {
            respond(list_installations(req, tenant));
        } else if (n == 5 && area == "jobs" && m == verb::get) {
            respond(list_jobs(req, tenant));
        } else if (n == 6 && area == "installations" && m == verb::patch) {
            patch_installation(req, tenant, p[5], std::move(respond), who);
        } else if (n == 6 && area == "installations" && m == verb::delete_) {
            delete_installation(req, tenant, p[5], std::move(respond), who);
        } else if (n == 7 && area == "installations" && is(6, "webhook-key") && m == verb::post) {
            rotate_key(req, tenant, p[5], std::move(respond), who);
        } else if (n == 8 && area == "installations" && is(6, "actions") && m == verb::post) {
            start_action(req, tenant, p[5], p[7], std::move(respond), who);
        } else {
            respond(error_response(req, status::not_found, "not found"));
        }
    } else {
        respond(error_response(req, status::not_found, "not found"));
    }
}

// ---- tenants and their data ------------------------------------------------------------------

app::response app::create_tenant(request& req, const actor& who) {
    std::string error;
    auto body = parse_body(req, error);
    if (!body || !body->is_object()) {
        return error_response(req, status::bad_request, body ? "expected a JSON object" : error);
    }
    auto id = string_field(body->get_object(), "id");
    auto name = string_field(body->get_object(), "name");
    if (!id || !valid_tenant_id(*id)) {
        return error_response(req, status::bad_request,
                              "id must be 1 to 63 characters of a-z, 0-9 and -");
    }
    if (!name || name->empty()) {
        return error_response(req, status::bad_request, "name is required");
    }
    auto audit = audit_record(req, who, "tenant.create", *id, *id);
    audit.after = to_json_text(bj::object{{"id", *id}, {"name", *name}});
    bool created = store_->write_sync<bool>([&](write_txn& txn) {
        bool fresh = txn.create_tenant(*id, *name);
        if (fresh) {
            txn.insert_audit(audit);
        }
        return fresh;
    });
    if (!created) {
        return error_response(req, status::conflict, "tenant '" + *id + "' already exists");
    }
    log::info("tenant created", {{"tenant", *id}});
    return json_response(req, status::created, bj::object{{"id", *id}, {"name", *name}});
}

void app::upsert_companies(request& req, const std::string& tenant, http::responder respond,
                           const actor& who) {
    std::string error;
    auto body = parse_body(req, error);
    if (!body || !body->is_array()) {
        respond(error_response(req, status::bad_request,
                               body ? "expected a JSON array of companies" : error));
        return;
    }
    std::vector<company_input> rows;
    bj::array errors;
    for (std::size_t i = 0; i < body->get_array().size(); ++i) {
        const auto& v = body->get_array()[i];
        std::string at = "[" + std::to_string(i) + "]";
        const auto* o = v.if_object();
        auto ext = o ? string_field(*o, "externalId") : std::nullopt;
        auto name = o ? string_field(*o, "name") : std::nullopt;
        if (!ext || ext->empty()) {
            errors.push_back(bj::object{{"field", at + ".externalId"}, {"message", "is required"}});
            continue;
        }
        company_input c{*ext, name.value_or(*ext), {}};
        if (auto d = o->find("domains"); d != o->end() && d->value().is_array()) {
            for (const auto& dv : d->value().get_array()) {
                if (dv.is_string()) {
                    c.domains.push_back(normalize_email(dv.get_string()));
                }
            }
        }
        rows.push_back(std::move(c));
    }
    if (!errors.empty()) {
        respond(field_errors_response(req, "invalid companies", errors));
        return;
    }
    bulk_upsert(*store_, req, std::move(respond), tenant, std::move(rows),
                audit_record(req, who, "companies.upsert", tenant, std::nullopt),
                [](write_txn& txn, const std::string& t, const std::vector<company_input>& r) {
                    return txn.upsert_companies(t, r);
                });
}

void app::upsert_end_users(request& req, const std::string& tenant, http::responder respond,
                           const actor& who) {
    std::string error;
    auto body = parse_body(req, error);
    if (!body || !body->is_array()) {
        respond(error_response(req, status::bad_request,
                               body ? "expected a JSON array of End Users" : error));
        return;
    }
    std::vector<end_user_input> rows;
    bj::array errors;
    for (std::size_t i = 0; i < body->get_array().size(); ++i) {
        const auto* o = body->get_array()[i].if_object();
        std::string at = "[" + std::to_string(i) + "]";
        auto email = o ? string_field(*o, "email") : std::nullopt;
        std::string normal = email ? normalize_email(*email) : "";
        if (!plausible_email(normal)) {
            errors.push_back(
                bj::object{{"field", at + ".email"}, {"message", "expected an email address"}});
            continue;
        }
        end_user_input u;
        u.email = normal;
        u.company_external_id = string_field(*o, "companyExternalId");
        u.name = string_field(*o, "name");
        u.external_id = string_field(*o, "externalId");
        if (auto oe = o->find("otherEmails"); oe != o->end() && oe->value().is_array()) {
            u.other_emails.emplace();
            for (const auto& e : oe->value().get_array()) {
                std::string other = e.is_string() ? normalize_email(e.get_string()) : "";
                if (!plausible_email(other)) {
                    errors.push_back(bj::object{{"field", at + ".otherEmails"},
                                                {"message", "expected email addresses"}});
                    break;
                }
                if (other != normal) {
                    u.other_emails->push_back(other);
                }
            }
        }
        rows.push_back(std::move(u));
    }
    if (!errors.empty()) {
        respond(field_errors_response(req, "invalid End Users", errors));
        return;
    }
    bulk_upsert(*store_, req, std::move(respond), tenant, std::move(rows),
                audit_record(req, who, "endusers.upsert", tenant, std::nullopt),
                [](write_txn& txn, const std::string& t, const std::vector<end_user_input>& r) {
                    return txn.upsert_end_users(t, r);
                });
}

app::response app::get_end_user(request& req, const std::string& tenant, const std::string& email) {
    auto user =
        store_->read([&](read_txn& txn) { return txn.end_user(tenant, normalize_email(email)); });
    if (!user) {
        return error_response(req, status::not_found, "no such End User");
    }
    bj::array others;
    for (const auto& e : user->other_emails) {
        others.emplace_back(e);
    }
    bj::value nps = nullptr;
    if (user->nps_score) {
        nps = bj::object{
            {"score", *user->nps_score},
            {"comment", user->nps_comment ? bj::value(*user->nps_comment) : nullptr},
            {"date", user->nps_date_ms ? bj::value(format_time_ms(*user->nps_date_ms)) : nullptr},
            {"responseId", user->nps_response_id ? bj::value(*user->nps_response_id) : nullptr}};
    }
    auto opt = [](const std::optional<std::string>& s) { return s ? bj::value(*s) : nullptr; };
    return json_response(req, status::ok,
                         bj::object{{"email", user->email},
                                    {"name", opt(user->name)},
                                    {"externalId", opt(user->external_id)},
                                    {"companyExternalId", opt(user->company_external_id)},
                                    {"otherEmails", std::move(others)},
                                    {"nps", std::move(nps)}});
}

app::response app::company_nps(request& req, const std::string& tenant,
                               const std::string& external_id) {
    auto company =
        store_->read([&](read_txn& txn) { return txn.company_nps(tenant, external_id); });
    if (!company) {
        return error_response(req, status::not_found, "no such company");
    }
    auto body = figures_json(company->nps);
    body["externalId"] = company->external_id;
    body["name"] = company->name;
    return json_response(req, status::ok, body);
}

app::response app::portfolio_nps(request& req, const std::string& tenant) {
    auto [total, companies] = store_->read([&](read_txn& txn) {
        return std::make_pair(txn.tenant_nps(tenant), txn.companies_nps(tenant));
    });
    auto body = figures_json(total);
    bj::array list;
    list.reserve(companies.size());
    for (const auto& c : companies) {
        auto entry = figures_json(c.nps);
        entry["externalId"] = c.external_id;
        entry["name"] = c.name;
        list.push_back(std::move(entry));
    }
    body["companies"] = std::move(list);
    return json_response(req, status::ok, body);
}

app::response app::unmatched(request& req, const std::string& tenant) {
    std::int64_t limit = 100;
    std::int64_t offset = 0;
    if (auto l = query_param(req.target(), "limit")) {
        limit = std::clamp<std::int64_t>(std::atoll(l->c_str()), 1, 1000);
    }
    if (auto o = query_param(req.target(), "offset")) {
        offset = std::max<std::int64_t>(std::atoll(o->c_str()), 0);
    }
    auto rows = store_->read([&](read_txn& txn) { return txn.unmatched(tenant, limit, offset); });
    bj::array out;
    for (const auto& r : rows) {
        out.push_back(bj::object{{"responseId", r.response_id},
                                 {"source", r.source},
                                 {"email", r.email ? bj::value(*r.email) : nullptr},
                                 {"score", r.score ? bj::value(*r.score) : nullptr},
                                 {"state", r.state},
                                 {"created", format_time_ms(r.created_ms)}});
    }
    return json_response(req, status::ok, out);
}

// ---- connectors and installations ------------------------------------------------------------

app::response app::list_connectors(request& req) {
    bj::array out;
    std::shared_lock lock(catalog_mutex_);
    for (const auto& [id, entry] : catalog_) {
        out.push_back(entry->spec.to_json());
    }
    return json_response(req, status::ok, out);
}

bj::object app::installation_json(const installation& inst, const manifest* m) const {
    bj::object config;
    if (m != nullptr) {
        // Mask the plain values: the stored ones are sealed.
        auto plain = bj::parse(open_config(*m, inst.config));
        config = mask_secrets(m->config, plain.get_object());
    }
    return {{"id", inst.id},
            {"tenant", inst.tenant},
            {"connector", inst.connector},
            {"enabled", inst.enabled},
            {"config", std::move(config)},
            {"createdAt", inst.created_at},
            {"updatedAt", inst.updated_at}};
}

void app::create_installation(request& req, const std::string& tenant, http::responder respond,
                              const actor& who) {
    std::string error;
    auto body = parse_body(req, error);
    if (!body || !body->is_object()) {
        respond(error_response(req, status::bad_request, body ? "expected a JSON object" : error));
        return;
    }
    auto connector_id = string_field(body->get_object(), "connector");
    auto entry = connector_id ? connector(*connector_id) : nullptr;
    if (!entry) {
        respond(error_response(req, status::bad_request, "connector is not in the catalog"));
        return;
    }
    bj::object input;
    if (auto c = body->get_object().find("config"); c != body->get_object().end()) {
        if (!c->value().is_object()) {
            respond(error_response(req, status::bad_request, "config must be a JSON object"));
            return;
        }
        input = c->value().get_object();
    }
    auto checked = validate_config(entry->spec.config, input);
    if (!checked.ok()) {
        bj::array fields;
        for (const auto& e : checked.errors) {
            fields.push_back(bj::object{{"field", e.field}, {"message", e.message}});
        }
        respond(field_errors_response(req, "invalid config", fields));
        return;
    }

    std::string key = crypto::random_token(32);
    installation inst;
    inst.id = "inst_" + crypto::random_token(12);
    inst.tenant = tenant;
    inst.connector = entry->spec.id;
    inst.config = seal_config(entry->spec, checked.config);
    inst.enabled = true;
    inst.key_hash = crypto::sha256_hex(key);
    std::string url = webhook_url(inst.connector, key);
    write_then_answer<installation>(
        *store_, req, std::move(respond),
        [this, inst, entry,
         audit = audit_record(req, who, "installation.create", tenant, inst.id)](write_txn& txn) {
            txn.insert_installation(inst);
            auto stored = *txn.find_installation(inst.tenant, inst.id);
            auto record = audit;
            record.after = to_json_text(installation_json(stored, &entry->spec));
            txn.insert_audit(record);
            return stored;
        },
        [this, url, version = req.version(),
         keep_alive = req.keep_alive()](const installation& stored) {
            publish(stored);
            log::info("installation created", {{"tenant", stored.tenant},
                                               {"connector", stored.connector},
                                               {"installation", stored.id}});
            auto body = installation_json(stored, &connector(stored.connector)->spec);
            body["webhookUrl"] = url;
            return http::make_json_response(version, keep_alive, status::created,
                                            to_json_text(body));
        });
}

app::response app::list_installations(request& req, const std::string& tenant) {
    auto all = store_->read([&](read_txn& txn) { return txn.installations(tenant); });
    bj::array out;
    for (const auto& inst : all) {
        auto entry = connector(inst.connector);
        out.push_back(installation_json(inst, entry ? &entry->spec : nullptr));
    }
    return json_response(req, status::ok, out);
}

void app::patch_installation(request& req, const std::string& tenant, const std::string& id,
                             http::responder respond, const actor& who) {
    std::string error;
    auto body = parse_body(req, error);
    if (!body || !body->is_object()) {
        respond(error_response(req, status::bad_request, body ? "expected a JSON object" : error));
        return;
    }
    auto inst = store_->read([&](read_txn& txn) { return txn.find_installation(tenant, id); });
    if (!inst) {
        respond(error_response(req, status::not_found, "no such installation"));
        return;
    }
    auto entry = connector(inst->connector);
    if (!entry) {
        respond(error_response(req, status::conflict, "the connector is not loaded"));
        return;
    }
    auto audit = audit_record(req, who, "installation.update", tenant, id);
    audit.before = to_json_text(installation_json(*inst, &entry->spec));
    const auto& o = body->get_object();
    if (auto e = o.find("enabled"); e != o.end()) {
        if (!e->value().is_bool()) {
            respond(error_response(req, status::bad_request, "enabled must be true or false"));
            return;
        }
        inst->enabled = e->value().get_bool();
    }
    if (auto c = o.find("config"); c != o.end()) {
        if (!c->value().is_object()) {
            respond(error_response(req, status::bad_request, "config must be a JSON object"));
            return;
        }
        // Validate against the plain previous values, then seal again. A secret sent back as the
        // listing masks it (an edit form echoing what it read) means "unchanged", not new text.
        auto previous = bj::parse(open_config(entry->spec, inst->config)).get_object();
        bj::object input = c->value().get_object();
        auto masked = mask_secrets(entry->spec.config, previous);
        for (const auto& f : entry->spec.config) {
            auto it = input.find(f.key);
            if (f.secret && it != input.end() && masked.contains(f.key) &&
                it->value() == masked.at(f.key)) {
                input.erase(it);
            }
        }
        auto checked = validate_config(entry->spec.config, input, &previous);
        if (!checked.ok()) {
            bj::array fields;
            for (const auto& fe : checked.errors) {
                fields.push_back(bj::object{{"field", fe.field}, {"message", fe.message}});
            }
            respond(field_errors_response(req, "invalid config", fields));
            return;
        }
        inst->config = seal_config(entry->spec, checked.config);
    }
    write_then_answer<installation>(
        *store_, req, std::move(respond),
        [this, inst = *inst, entry, audit](write_txn& txn) {
            txn.update_installation(inst);
            auto stored = *txn.find_installation(inst.tenant, inst.id);
            auto record = audit;
            record.after = to_json_text(installation_json(stored, &entry->spec));
            txn.insert_audit(record);
            return stored;
        },
        [this, version = req.version(), keep_alive = req.keep_alive()](const installation& stored) {
            publish(stored);
            if (!stored.enabled) {
                jobs_->cancel_installation(stored.id);
            }
            log::info("installation changed", {{"tenant", stored.tenant},
                                               {"installation", stored.id},
                                               {"enabled", stored.enabled ? "true" : "false"}});
            auto spec = connector(stored.connector);
            return http::make_json_response(
                version, keep_alive, status::ok,
                to_json_text(installation_json(stored, spec ? &spec->spec : nullptr)));
        });
}

void app::delete_installation(request& req, const std::string& tenant, const std::string& id,
                              http::responder respond, const actor& who) {
    write_then_answer<bool>(
        *store_, req, std::move(respond),
        [this, tenant, id,
         audit = audit_record(req, who, "installation.delete", tenant, id)](write_txn& txn) {
            auto before = txn.find_installation(tenant, id);
            if (!before || !txn.delete_installation(tenant, id)) {
                return false;
            }
            auto spec = connector(before->connector);
            auto record = audit;
            record.before = to_json_text(installation_json(*before, spec ? &spec->spec : nullptr));
            txn.insert_audit(record);
            return true;
        },
        [this, id, version = req.version(), keep_alive = req.keep_alive()](const bool& deleted) {
            if (!deleted) {
                return http::make_json_response(version, keep_alive, status::not_found,
                                                R"({"error":"no such installation"})");
            }
            unpublish(id);
            jobs_->cancel_installation(id);
            log::info("installation removed", {{"installation", id}});
            return http::make_json_response(version, keep_alive, status::ok, R"({"deleted":true})");
        });
}

void app::rotate_key(request& req, const std::string& tenant, const std::string& id,
                     http::responder respond, const actor& who) {
    auto inst = store_->read([&](read_txn& txn) { return txn.find_installation(tenant, id); });
    if (!inst) {
        respond(error_response(req, status::not_found, "no such installation"));
        return;
    }
    std::string key = crypto::random_token(32);
    auto grace_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.key_grace);
    inst->old_key_hash = inst->key_hash;
    inst->old_key_expires_ms = now_ms() + grace_ms.count();
    inst->key_hash = crypto::sha256_hex(key);
    std::string url = webhook_url(inst->connector, key);
    write_then_answer<installation>(
        *store_, req, std::move(respond),
        [inst = *inst,
         audit = audit_record(req, who, "installation.rotate-key", tenant, id)](write_txn& txn) {
            txn.update_installation(inst);
            // The keys stay out of the audit log: only when the previous one stops working.
            auto record = audit;
            record.after = to_json_text(bj::object{
                {"id", inst.id},
                {"previousKeyValidUntil", format_time_ms(inst.old_key_expires_ms.value_or(0))}});
            txn.insert_audit(record);
            return *txn.find_installation(inst.tenant, inst.id);
        },
        [this, url, version = req.version(),
         keep_alive = req.keep_alive()](const installation& stored) {
            publish(stored);
            log::info("webhook key rotated",
                      {{"tenant", stored.tenant}, {"installation", stored.id}});
            bj::object body{
                {"id", stored.id},
                {"webhookUrl", url},
                {"previousKeyValidUntil", format_time_ms(stored.old_key_expires_ms.value_or(0))}};
            return http::make_json_response(version, keep_alive, status::ok, to_json_text(body));
        });
}

}  // namespace tributary::host
