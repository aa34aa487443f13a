# Re-encode stubs between NDR 2.0 and NDR64 with Samba's own (pidl-generated) marshalling code,
# for byte-exact comparison with witnessd's generated NDR64 back end. One JSON request per line
# on stdin: {"module": "witness", "fn": "GetInterfaceList", "dir": "out", "hex": "...",
# "inHex": "..." (the NDR 2.0 request, for [out] sizes that come from [in] parameters),
# "from64": false}; "hex" is NDR 2.0 (answered in NDR64) or, with from64, NDR64 (answered in
# NDR 2.0). One JSON answer per line on stdout: {"hex": "..."} or {"error": "..."}.
import json
import sys
import importlib

for line in sys.stdin:
    q = json.loads(line)
    try:
        mod = importlib.import_module('samba.dcerpc.' + q['module'])
        o = getattr(mod, q['fn'])()
        src64 = bool(q.get('from64'))
        if q['dir'] == 'in':
            o.__ndr_unpack_in__(bytes.fromhex(q['hex']), ndr64=src64)
            out = o.__ndr_pack_in__(ndr64=not src64)
        else:
            if q.get('inHex') is not None:
                o.__ndr_unpack_in__(bytes.fromhex(q['inHex']), ndr64=False)
            o.__ndr_unpack_out__(bytes.fromhex(q['hex']), ndr64=src64)
            out = o.__ndr_pack_out__(ndr64=not src64)
        print(json.dumps({'hex': out.hex()}), flush=True)
    except Exception as e:  # one bad vector must not hide the others
        print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}), flush=True)
