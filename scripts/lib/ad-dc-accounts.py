# ad-dc-accounts.py SMB_CONF JSON — the test realm's accounts, SPNs and keytabs, in one process
# (samba-tool costs ~0.5 s of Python start-up per call: 13 calls were 7.4 s, this is ~1.5 s).
# JSON: {"users": [[name, password], ...],
#        "services": [{"name", "password", "spns": [...], "keytab": path}, ...]}
# A service account is AES-only (msDS-SupportedEncryptionTypes 24, as KERBEROS.md §1 measured)
# and never expires; its keytab holds every SPN (the same keys under each name).
import json
import sys

import ldb
from samba import enable_net_export_keytab
from samba.auth import system_session
from samba.net import Net
from samba.param import LoadParm
from samba.samdb import SamDB

conf, spec = sys.argv[1], json.loads(sys.argv[2])
lp = LoadParm()
lp.load(conf)
samdb = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
for name, password in spec.get("users", []):
    samdb.newuser(name, password)
enable_net_export_keytab()
for svc in spec.get("services", []):
    samdb.newuser(svc["name"], svc["password"])
    samdb.setexpiry("(sAMAccountName=%s)" % ldb.binary_encode(svc["name"]), 0, no_expiry_req=True)
    m = ldb.Message()
    m.dn = ldb.Dn(samdb, "CN=%s,CN=Users,%s" % (svc["name"], samdb.domain_dn()))
    m["servicePrincipalName"] = ldb.MessageElement(svc["spns"], ldb.FLAG_MOD_ADD, "servicePrincipalName")
    m["msDS-SupportedEncryptionTypes"] = ldb.MessageElement("24", ldb.FLAG_MOD_REPLACE, "msDS-SupportedEncryptionTypes")
    samdb.modify(m)
    for spn in svc["spns"]:
        # A fresh Net and its own sam.ldb handle per export: sharing ours aborts with "Bad talloc magic value" (Samba 4.22).
        Net(None, lp).export_keytab(keytab=svc["keytab"], principal=spn)
print("accounts done")
