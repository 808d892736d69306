#!/usr/bin/env python3
"""Prints the demo tenant's End User scores, Company NPS and unmatched queue as tables."""
import json
import sys
import urllib.parse
import urllib.request


def get(base, token, path):
    req = urllib.request.Request(base + "/api/v1" + path,
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as answer:
        return json.load(answer)


def table(title, headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    print("\n" + title)
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


def show(v):
    return "-" if v is None else v


def main():
    base, token, tenant_file = sys.argv[1], sys.argv[2], sys.argv[3]
    tenant = json.load(open(tenant_file))
    tid = tenant["tenant"]["id"]

    rows = []
    for user in tenant["endUsers"]:
        email = urllib.parse.quote(user["email"], safe="")
        eu = get(base, token, f"/tenants/{tid}/endusers/{email}")
        nps = eu["nps"] or {}
        comment = nps.get("comment") or ""
        rows.append([eu["email"], eu["companyExternalId"], show(nps.get("score")),
                     (nps.get("date") or "-")[:10],
                     comment[:40] + ("…" if len(comment) > 40 else "")])
    table("End User scores", ["email", "company", "score", "date", "comment"], rows)

    portfolio = get(base, token, f"/tenants/{tid}/nps")
    rows = [[c["externalId"], c["name"], show(c["nps"]), c["promoters"], c["passives"],
             c["detractors"], c["responses"], show(c["averageScore"])]
            for c in portfolio["companies"]]
    rows.append(["(portfolio)", "", show(portfolio["nps"]), portfolio["promoters"],
                 portfolio["passives"], portfolio["detractors"], portfolio["responses"],
                 show(portfolio["averageScore"])])
    table("Company NPS", ["company", "name", "NPS", "promoters", "passives", "detractors",
                          "responses", "avg"], rows)

    unmatched = get(base, token, f"/tenants/{tid}/nps/unmatched")
    rows = [[u["responseId"], show(u["email"]), show(u["score"]), u["state"], u["created"]]
            for u in unmatched]
    table("Responses waiting for an End User", ["response", "email", "score", "state", "created"],
          rows)


if __name__ == "__main__":
    main()
