# --codec proto:NAME from a shell: emit, dump, dump --table, view (--serve),
# recover and dump --storage, run-group --op and --exec with proto inputs and
# tables; schemas from .proto files with imports, descriptor sets, -F/-X keys
# and GOKA_PROTO_PATH; proto2 and proto3; the JSON options; every error.
# protoc checks the bytes from outside our code (--decode, --encode).
source "$(dirname "$0")/lib.sh"
command -v protoc >/dev/null || skip "protoc is not installed (scripts/deps.sh: protobuf-compiler)"
command -v kcat >/dev/null || skip "kcat is not installed (scripts/deps.sh)"
start_broker -t orders:3 -t copy:3 -t users:2 -t latest-table:3 -t handled-table:3 -t shipped:3 \
  -t broken:2 -t broken-table:2 -t badstate-table:3 -t served-table:3
K="kcat -b $GOKA_BROKERS -q"
D=$SRC/tests/data/proto
protoc --proto_path="$D" --descriptor_set_out="$WORK/shop.pb" --include_imports shop/order.proto legacy.proto
ORDER=(--codec proto:shop.Order --proto "$D/shop/order.proto" --proto-path "$D")
ORDER_SET=(--codec proto:shop.Order --descriptor-set "$WORK/shop.pb")
USER=(--codec proto:legacy.User --proto "$D/legacy.proto")

# JSON lines as Python sees them (key order of maps and objects aside).
normal() { python3 -c '
import json, sys
for line in sys.stdin:
    print(json.dumps(json.loads(line), sort_keys=True))'; }
# value KEY: the value of KEY's last record in the envelope lines of $WORK/out, compact.
value() { python3 -c '
import json, sys
last = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["key"] == sys.argv[2]:
        last = r.get("value", r.get("value_error"))
print(json.dumps(last, separators=(",", ":"), ensure_ascii=False))' "$WORK/out" "$1"; }
# The value of the record at topic $1, partition $2, offset $3, as protoc --decode prints it.
protoc_decode() {
  $K -C -t "$1" -p "$2" -o "$3" -c 1 -e -f '%s' |
    protoc --proto_path="$D" --decode="$4" shop/order.proto legacy.proto
}

cat >"$WORK/orders.jsonl" <<'EOF'
{"key":"o-1","value":{"orderId":"o-1","customerId":"9007199254740993","status":"STATUS_PAID","lines":[{"sku":"apple","quantity":3,"unitPrice":{"currency":"EUR","units":"2"}}],"tags":["a","b"],"counters":{"views":"7"},"createdAt":"2024-01-02T03:04:05.250Z","extra":{"@type":"type.googleapis.com/shop.common.Money","currency":"USD","units":"1"}}}
{"key":"o-2","value":{"orderId":"o-2","customer_id":"-5","weightKg":1.5,"signature":"AAEC/w==","gift":true},"headers":{"trace":"t1"}}
{"key":"o-3","value":{}}
{"key":"o-4","value":null}
EOF

# --- emit with .proto files (imports across files, well-known types); protoc reads the bytes.
run 0 "$CLI" emit orders "${ORDER[@]}" <"$WORK/orders.jsonl"
err_has "4 messages"
part=$("$CLI" partition o-1 -n 3)
protoc_decode orders "$part" 0 shop.Order >"$WORK/text"
grep -q 'customer_id: 9007199254740993' "$WORK/text" || fail "protoc reads: $(cat "$WORK/text")"
grep -q 'status: STATUS_PAID' "$WORK/text" || fail "enum: $(cat "$WORK/text")"
grep -q 'units: 2' "$WORK/text" || fail "nested Money: $(cat "$WORK/text")"
$K -C -t orders -e -f '%k %S\n' | grep -q '^o-4 -1$' || fail "null is not a tombstone"

# --- dump with a descriptor set: proto3 canonical JSON, headers kept, tombstone null.
run 0 "$CLI" dump orders "${ORDER_SET[@]}"
grep '"key":"o-1"' "$WORK/out" | grep -qF '"value":{"orderId":"o-1","customerId":"9007199254740993","status":"STATUS_PAID","lines":[{"sku":"apple","quantity":3,"unitPrice":{"currency":"EUR","units":"2"}}],"tags":["a","b"],"counters":{"views":"7"},"createdAt":"2024-01-02T03:04:05.250Z","extra":{"@type":"type.googleapis.com/shop.common.Money","currency":"USD","units":"1"}}' ||
  fail "dump o-1: $(grep o-1 "$WORK/out")"
grep '"key":"o-2"' "$WORK/out" | grep -qF '"value":{"orderId":"o-2","customerId":"-5","gift":true,"weightKg":1.5,"signature":"AAEC/w=="}' ||
  fail "dump o-2: $(grep o-2 "$WORK/out")"
grep '"key":"o-2"' "$WORK/out" | grep -qF '"headers":{"trace":"t1"}' || fail "headers"
grep '"key":"o-3"' "$WORK/out" | grep -qF '"value":{}' || fail "the empty message"
grep '"key":"o-4"' "$WORK/out" | grep -qF '"value":null' || fail "tombstone"
cp "$WORK/out" "$WORK/dump.jsonl"

# --- dump | emit copies what protoc reads the same; the copy dumps the same.
"$CLI" -q dump orders "${ORDER_SET[@]}" | run 0 "$CLI" emit copy "${ORDER[@]}"
for key in o-1 o-2 o-3; do
  p=$("$CLI" partition "$key" -n 3)
  o1=$($K -C -t orders -p "$p" -e -f '%k %o\n' | awk -v k="$key" '$1 == k { print $2 }')
  o2=$($K -C -t copy -p "$p" -e -f '%k %o\n' | awk -v k="$key" '$1 == k { print $2 }')
  same "$(protoc_decode copy "$p" "$o2" shop.Order)" "$(protoc_decode orders "$p" "$o1" shop.Order)" "copy of $key"
done
same "$("$CLI" dump copy "${ORDER_SET[@]}" --format '%k\n' | sort | tr '\n' ' ')" "o-1 o-2 o-3 o-4 " "keys of the copy"
same "$("$CLI" dump copy "${ORDER_SET[@]}" --table)" "$("$CLI" dump orders "${ORDER_SET[@]}" --table)" "dump of the copy"

# --- bytes protoc encodes decode as the JSON mapping says.
printf 'order_id: "p-1" customer_id: -9223372036854775808 status: STATUS_SHIPPED counters { key: "a" value: 1 }' |
  protoc --proto_path="$D" --encode=shop.Order shop/order.proto >"$WORK/p1.bin"
$K -P -t orders -k p-1 -p "$("$CLI" partition p-1 -n 3)" "$WORK/p1.bin"
run 0 "$CLI" dump orders "${ORDER_SET[@]}"
same "$(value p-1)" '{"orderId":"p-1","customerId":"-9223372036854775808","status":"STATUS_SHIPPED","counters":{"a":"1"}}' "value of p-1"

# --- emit KEY VALUE and --input kv; the JSON options.
run 0 "$CLI" emit orders k-1 '{"orderId":"k-1","lines":[{"sku":"x"}]}' "${ORDER[@]}"
printf 'k-2\t{"order_id":"k-2","status":2}\n' | run 0 "$CLI" emit orders --input kv "${ORDER[@]}"
run 0 "$CLI" dump orders "${ORDER[@]}" --proto-original-names
same "$(value k-2)" '{"order_id":"k-2","status":"STATUS_PAID"}' "value of k-2"
run 0 "$CLI" dump orders "${ORDER[@]}" --proto-defaults
value k-1 >"$WORK/value"; mv "$WORK/value" "$WORK/out"
python3 -c '
import json, sys
v = json.loads(open(sys.argv[1]).read())
assert v["customerId"] == "0" and v["status"] == "STATUS_UNSPECIFIED" and v["tags"] == [] and v["gift"] is False, v
assert v["lines"] == [{"sku": "x", "quantity": 0}], v["lines"]' "$WORK/out" || fail "--proto-defaults: $(cat "$WORK/out")"
run 2 "$CLI" dump orders "${ORDER[@]}" --proto-original-names --proto-json-names
error_line

# --- -F and -X keys, GOKA_PROTO_PATH (every .proto under it is loaded; a
# directory that is not there is skipped, as in PATH).
printf 'goka.proto.descriptor.sets=%s\ngoka.proto.original.names=true\n' "$WORK/shop.pb" >"$WORK/config"
run 0 "$CLI" -F "$WORK/config" dump orders --codec proto:shop.Order
same "$(value k-2)" '{"order_id":"k-2","status":"STATUS_PAID"}' "value of k-2"
run 0 "$CLI" -F "$WORK/config" dump orders --codec proto:shop.Order --proto-json-names
same "$(value k-2)" '{"orderId":"k-2","status":"STATUS_PAID"}' "value of k-2"
run 0 "$CLI" -X "goka.proto.files=$D/shop/order.proto" -X "goka.proto.path=/nonexistent-first:$D" \
  dump orders --codec proto:shop.Order
same "$(value k-2)" '{"orderId":"k-2","status":"STATUS_PAID"}' "value of k-2"
GOKA_PROTO_PATH=$D run 0 "$CLI" dump orders --codec proto:shop.Order
same "$(value k-2)" '{"orderId":"k-2","status":"STATUS_PAID"}' "value of k-2"
printf 'goka.proto.colour=red\n' >"$WORK/bad-config"
run 2 "$CLI" -F "$WORK/bad-config" dump orders --codec proto:shop.Order
err_has "goka.proto.colour"

# --- proto2: required fields, defaults; errors name the line and the field.
printf '{"key":"u1","value":{"name":"ada","visits":"18446744073709551615"}}\n' |
  run 0 "$CLI" emit users "${USER[@]}"
run 0 "$CLI" dump users "${USER[@]}"
same "$(value u1)" '{"name":"ada","visits":"18446744073709551615"}' "proto2 value"
run 0 "$CLI" dump users "${USER[@]}" --proto-defaults
value u1 >"$WORK/value"; mv "$WORK/value" "$WORK/out"
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["age"] == 7 and v["kind"] == "HUMAN", v' \
  "$WORK/out" || fail "proto2 defaults: $(cat "$WORK/out")"
printf '{"key":"u2","value":{"name":"bob"}}\n{"key":"u3","value":{"age":3}}\n' |
  run 2 "$CLI" emit users "${USER[@]}"
error_line
err_has "line 2"
err_has "name"
printf '{"key":"x","value":{"orderId":"x","colour":"red"}}\n' | run 2 "$CLI" emit orders "${ORDER[@]}"
err_has "line 1"
err_has "colour"
run 2 "$CLI" emit orders x '{"customerId":"twelve"}' "${ORDER[@]}"
err_has "customer_id"
run 2 "$CLI" emit orders x '{"lines":[{"quantity":"many"}]}' "${ORDER[@]}"
err_has "lines[0].quantity"

# --- a value that is not the message: value_b64 and value_error, never fatal.
run 0 "$CLI" emit users bad 'not a user' --codec string
run 0 "$CLI" dump users "${USER[@]}"
grep '"key":"bad"' "$WORK/out" | grep -q '"value_b64":"bm90IGEgdXNlcg==","value_error":".*legacy.User' ||
  fail "undecodable value: $(grep bad "$WORK/out")"
grep -q '"key":"u1".*"name":"ada"' "$WORK/out" || fail "the good record beside it"

# --- schema errors.
run 3 "$CLI" dump orders --codec proto:shop.Ordr --proto "$D/shop/order.proto" --proto-path "$D"
error_line
err_has "shop.Ordr"
err_has "shop.Order, shop.Order.Line, shop.OrderEvent, shop.common.Money"
run 2 "$CLI" dump orders --codec proto:shop.Order
error_line
err_has "--proto"
run 2 "$CLI" dump orders --codec proto:shop.Order --proto "$D/shop/order.proto" --descriptor-set "$WORK/shop.pb"
err_has "not both"
run 2 "$CLI" dump orders --codec proto:shop.Order --proto "$D/shop/order.proto"
err_has "shop/common.proto"
run 3 "$CLI" dump orders --codec proto:shop.Order --proto "$WORK/missing.proto"
err_has "missing.proto"
printf 'syntax = "proto3";\nmessage A {\n  int32 a = ;\n}\n' >"$WORK/broken.proto"
run 2 "$CLI" dump orders --codec proto:A --proto "$WORK/broken.proto"
err_has "broken.proto:3:"
run 2 "$CLI" dump orders --codec proto:shop.Order --descriptor-set "$D/shop/order.proto"
err_has "descriptor set"
run 2 "$CLI" dump orders --codec proto:
error_line

# --- dump --table and view (all, keys, --serve): the latest value per key.
run 0 "$CLI" dump orders "${ORDER_SET[@]}" --table
same "$(grep -c . "$WORK/out")" 6 "dump --table rows"
grep -qF '{"key":"o-2","value":{"orderId":"o-2","customerId":"-5","gift":true,"weightKg":1.5,"signature":"AAEC/w=="}}' "$WORK/out" ||
  fail "dump --table: $(cat "$WORK/out")"
run 0 "$CLI" view orders --all "${ORDER_SET[@]}"
same "$(normal <"$WORK/out")" "$("$CLI" dump orders "${ORDER_SET[@]}" --table | normal)" "view --all"
run 3 "$CLI" view orders k-2 o-4 "${ORDER[@]}"
out_is '{"key":"k-2","value":{"orderId":"k-2","status":"STATUS_PAID"}}
{"key":"o-4","value":null,"found":false}'

# --- recover and dump --storage.
run 0 "$CLI" recover orders --storage "$WORK/db"
run 0 "$CLI" dump --storage "$WORK/db" orders "${ORDER_SET[@]}"
same "$(normal <"$WORK/out" | sort)" "$("$CLI" dump orders "${ORDER_SET[@]}" --table | normal | sort)" "dump --storage"

# --- run-group --op latest: proto inputs into a proto table.
run 0 "$CLI" run-group latest -i orders --op latest "${ORDER[@]}" --table-codec proto:shop.Order --until-idle 1
same "$("$CLI" dump latest-table "${ORDER_SET[@]}" --table | normal)" \
  "$("$CLI" dump orders "${ORDER_SET[@]}" --table | normal)" "run-group --op latest"
# ... and the table's bytes are shop.Order for protoc.
p=$("$CLI" partition o-1 -n 3)
o=$($K -C -t latest-table -p "$p" -e -f '%k %o\n' | awk '$1 == "o-1" { print $2 }' | tail -1)
protoc_decode latest-table "$p" "$o" shop.Order | grep -q 'customer_id: 9007199254740993' ||
  fail "run-group table bytes"

# --- run-group --exec: the handler sees JSON, answers JSON, goka-cli encodes.
cat >"$WORK/handler.py" <<'PY'
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    v = r["value"]
    if v is None:
        print(json.dumps({}), flush=True)
        continue
    state = r["state"] or {"orderId": r["key"], "tags": []}
    state["tags"] = state.get("tags", []) + [v.get("status", "NONE")]
    state["customerId"] = str(int(state.get("customerId", "0")) + 1)
    out = {"state": state}
    if v.get("status") == "STATUS_PAID":
        out["emit"] = [{"topic": "shipped", "key": r["key"], "value": {"orderId": r["key"], "status": "STATUS_SHIPPED"}}]
    print(json.dumps(out), flush=True)
PY
run 0 "$CLI" run-group handled -i orders -o shipped --exec "python3 $WORK/handler.py" \
  "${ORDER[@]}" --table-codec proto:shop.Order --until-idle 1
run 0 "$CLI" view handled-table o-1 k-2 "${ORDER_SET[@]}"
out_is '{"key":"o-1","value":{"orderId":"o-1","customerId":"1","tags":["STATUS_PAID"]}}
{"key":"k-2","value":{"orderId":"k-2","customerId":"1","tags":["STATUS_PAID"]}}'
run 0 "$CLI" dump shipped "${ORDER_SET[@]}" --table
out_is '{"key":"k-2","value":{"orderId":"k-2","status":"STATUS_SHIPPED"}}
{"key":"o-1","value":{"orderId":"o-1","status":"STATUS_SHIPPED"}}'

# --- run-group stops at a value that is not the message, naming where it is.
run 0 "$CLI" emit broken k1 '{"orderId":"fine"}' "${ORDER[@]}"
run 0 "$CLI" emit broken k1 'garbage' --codec string -p "$("$CLI" partition k1 -n 2)"
run 1 "$CLI" run-group broken -i broken --op latest "${ORDER[@]}" --table-codec proto:shop.Order --until-idle 1
error_line
err_has "topic=broken, partition=$("$CLI" partition k1 -n 2), offset=1"
# ... and at a handler state that does not encode.
printf 'import sys\nfor l in sys.stdin: print(%s, flush=True)\n' "'{\"state\":{\"colour\":1}}'" >"$WORK/bad_state.py"
run 1 "$CLI" run-group badstate -i orders --exec "python3 $WORK/bad_state.py" \
  "${ORDER[@]}" --table-codec proto:shop.Order --until-idle 1
error_line
err_has "colour"
err_has "topic=orders"

# --- run-group --serve and view --serve answer decoded values.
"$CLI" run-group served -i orders --op latest "${ORDER[@]}" --table-codec proto:shop.Order \
  --serve 127.0.0.1:0 2>"$WORK/group.err" &
pid=$!
await "grep -q 'serving http' '$WORK/group.err'" 30
url=$(grep -o 'http://[^ ]*' "$WORK/group.err")
await "curl -sf '${url}tables/served-table/k-2' >/dev/null" 60
same "$(curl -s "${url}tables/served-table/k-2")" '{"orderId":"k-2","status":"STATUS_PAID"}' "run-group --serve value"
kill "$pid"
wait "$pid" || true

"$CLI" view orders --serve 127.0.0.1:0 "${ORDER_SET[@]}" >/dev/null 2>"$WORK/serve.err" &
pid=$!
await "grep -q 'serving http' '$WORK/serve.err'" 30
url=$(grep -o 'http://[^ ]*' "$WORK/serve.err")
await "curl -sf '${url}tables/orders/k-2' >/dev/null" 30
same "$(curl -s "${url}tables/orders/k-2")" '{"orderId":"k-2","status":"STATUS_PAID"}' "--serve value"
kill "$pid"
wait "$pid" || true

finish
