# Re-encode NDR 2.0 stubs as NDR64 with Samba's own (pidl-generated) marshalling code, for
# byte-exact comparison with witnessd's generated NDR64 back end. One JSON request per line on
# stdin: {"module": "witness", "fn": "GetInterfaceList", "dir": "out", "hex": "...",
# "inHex": "..." (the request, for [out] sizes that come from [in] parameters)}; one JSON
# answer per line on stdout: {"ndr64": "..."} or {"error": "..."}.
import json
import sys
import importlib

for line in sys.stdin:
    q = json.loads(line)
    try:
        mod = importlib.import_module('samba.dcerpc.' + q['module'])
        o = getattr(mod, q['fn'])()
        if q['dir'] == 'in':
            o.__ndr_unpack_in__(bytes.fromhex(q['hex']), ndr64=False)
            out = o.__ndr_pack_in__(ndr64=True)
        else:
            if q.get('inHex') is not None:
                o.__ndr_unpack_in__(bytes.fromhex(q['inHex']), ndr64=False)
            o.__ndr_unpack_out__(bytes.fromhex(q['hex']), ndr64=False)
            out = o.__ndr_pack_out__(ndr64=True)
        print(json.dumps({'ndr64': out.hex()}), flush=True)
    except Exception as e:  # one bad vector must not hide the others
        print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}), flush=True)
