#!/usr/bin/env bash
# Regenerates the project's own test PKI under testdata/pki/ and the independent expected
# values in testdata/pki/expected-sn.jsonl (computed by the JDK, see oracle/SnOracle.java).
#
# Needs: openssl (1.1.1 or 3.x) and a JDK 11+ (`java` running a single source file).
# Run from anywhere: bash testdata/gen.sh
set -euo pipefail
cd "$(dirname "$0")"
OUT=pki
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"/{dn,keys,ca}

DAYS=36500

# ---------------------------------------------------------------------------------------------
# 1. Self-signed certificates whose issuer exercises one rule of the JDK's RFC 2253 rendering
#    (PROTOCOL.md §1) and serial numbers of every size that occurs.
# ---------------------------------------------------------------------------------------------
openssl genrsa -out "$WORK/dn.key" 2048 2>/dev/null

selfsigned_subj() { # file serial subj [extra args]
  local file=$1 serial=$2 subj=$3
  shift 3
  openssl req -x509 -new -key "$WORK/dn.key" -sha256 -days $DAYS -set_serial "$serial" \
    -utf8 -subj "$subj" "$@" -out "$OUT/dn/$file" 2>/dev/null
}
selfsigned_cnf() { # file serial config
  openssl req -x509 -new -key "$WORK/dn.key" -sha256 -days $DAYS -set_serial "$2" \
    -config "$3" -out "$OUT/dn/$1" 2>/dev/null
}

# Escaped characters: , + " \ < > ; = and a leading '#', a '#' inside, leading and trailing space.
selfsigned_subj escapes.pem 1 \
  '/C=CN/O=Acme\, Inc.; "quoted" <lt>gt\\back/OU= leading space/OU=trailing space /CN=#hash a#b \=eq\+plus'

# A multi-valued RDN (CN+OU+UID in one SET); serial 2^63 (does not fit a signed 64-bit integer).
selfsigned_subj multi_rdn.pem 9223372036854775808 \
  '/C=CN/O=Multi Org/CN=alpha+OU=beta+UID=u1' -multivalue-rdn

# emailAddress and a private OID (both rendered OID=#HEX), plus the other keywords
# (DC, L, ST, STREET); a 128-bit serial with the high bit set.
cat >"$WORK/oid.cnf" <<'EOF'
oid_section = oids
[oids]
testAttribute = 1.3.6.1.4.1.55555.1
[req]
distinguished_name = dn
prompt = no
utf8 = yes
[dn]
DC = example
L = Hangzhou
ST = Zhejiang
street = 556 Xixi Road
O = Oid Org
CN = Oid Test
emailAddress = ca@example.com
testAttribute = hello
EOF
selfsigned_cnf email_oid.pem 0xF0123456789ABCDEF0123456789ABCDE "$WORK/oid.cnf"

# CJK text as UTF8String; a 160-bit serial.
selfsigned_subj cjk_utf8.pem 0x8A1B2C3D4E5F60718293A4B5C6D7E8F901234567 \
  '/C=CN/O=支付宝(中国)网络技术有限公司/CN=测试证书 UTF8'

# CJK text as BMPString (UCS-2); a negative serial.
cat >"$WORK/bmp.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = MASK:0x800
[dn]
O = 支付宝测试
CN = 证书 BMP
EOF
selfsigned_cnf bmp.pem -1234 "$WORK/bmp.cnf"

# DER order starting with CN (so the RFC 2253 string starts with C), two OUs.
selfsigned_subj cn_first.pem 2 '/CN=First CN/OU=Unit One/OU=Unit Two/O=Order Org/C=CN'

# An SN whose MD5 starts with "00": search the serial for this simple issuer. The search uses
# the plain rendering of this ASCII-only issuer; the JDK oracle below checks it independently.
zero_issuer='CN=Zero Prefix CA,O=alipay-sdk tests,C=CN'
serial=1000
while [ "$(printf '%s%s' "$zero_issuer" "$serial" | md5sum | cut -c1-2)" != "00" ]; do
  serial=$((serial + 1))
done
selfsigned_subj md5_00.pem "$serial" '/C=CN/O=alipay-sdk tests/CN=Zero Prefix CA'

# ---------------------------------------------------------------------------------------------
# 2. Keys in every form Alipay users have: PKCS#1 PEM, PKCS#8 PEM, the bare base64 body Alipay's
#    key tool writes (of either DER form), the public key, an unrelated key, an encrypted key.
# ---------------------------------------------------------------------------------------------
K=$OUT/keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/app_pkcs8.pem" 2>/dev/null
openssl rsa -in "$K/app_pkcs8.pem" -traditional -out "$K/app_pkcs1.pem" 2>/dev/null
grep -v -- '-----' "$K/app_pkcs8.pem" | tr -d '\n' >"$K/app_pkcs8_base64.txt"
grep -v -- '-----' "$K/app_pkcs1.pem" | tr -d '\n' >"$K/app_pkcs1_base64.txt"
openssl pkey -in "$K/app_pkcs8.pem" -pubout -out "$K/app_public.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/other_pkcs8.pem" 2>/dev/null
openssl pkcs8 -topk8 -in "$K/app_pkcs8.pem" -v2 aes-256-cbc -passout pass:secret \
  -out "$K/app_encrypted.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/weak_1024.pem" 2>/dev/null

# ---------------------------------------------------------------------------------------------
# 3. A PKI shaped like Alipay's: two RSA roots (sha256 and sha1) and an EC root in one bundle,
#    a "Class 1" CA for app certificates, a "Class 2" CA for Alipay certificates, an app
#    certificate for the app key above, and an Alipay certificate file holding leaf + CA.
# ---------------------------------------------------------------------------------------------
C=$OUT/ca
cat >"$WORK/ext.cnf" <<'EOF'
[ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, nonRepudiation
EOF

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/root_rsa.key" 2>/dev/null
openssl req -x509 -new -key "$C/root_rsa.key" -sha256 -days $DAYS -set_serial 0x1A2B3C4D5E6F \
  -subj '/C=CN/O=alipay-sdk test/OU=Certification Authority/CN=alipay-sdk Test Root R1' \
  -addext 'basicConstraints=critical,CA:true' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
  -out "$C/root_rsa.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/root_rsa_sha1.key" 2>/dev/null
openssl req -x509 -new -key "$C/root_rsa_sha1.key" -sha1 -days $DAYS -set_serial 0x5A17 \
  -subj '/C=CN/O=alipay-sdk test/OU=Trust Network/CN=alipay-sdk Test Root G3' \
  -addext 'basicConstraints=critical,CA:true' -out "$C/root_rsa_sha1.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$C/root_ec.key" 2>/dev/null
openssl req -x509 -new -key "$C/root_ec.key" -sha384 -days $DAYS -set_serial 0xEC01 \
  -subj '/C=CN/O=alipay-sdk test/OU=Certification Authority/CN=alipay-sdk Test Root E1' \
  -out "$C/root_ec.pem" 2>/dev/null
# Bundle order as in Alipay's: non-RSA first, then the RSA roots, then another non-RSA one.
cat "$C/root_ec.pem" "$C/root_rsa.pem" "$C/root_rsa_sha1.pem" >"$C/root_bundle.pem"
cat "$C/root_ec.pem" >"$C/root_bundle_no_rsa.pem"

issue() { # out-cert key subj issuer-cert issuer-key serial extsection
  openssl req -new -key "$2" -utf8 -subj "$3" -out "$WORK/req.csr" 2>/dev/null
  openssl x509 -req -in "$WORK/req.csr" -CA "$4" -CAkey "$5" -set_serial "$6" -sha256 \
    -days $DAYS -extfile "$WORK/ext.cnf" -extensions "$7" -out "$1" 2>/dev/null
}
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/class1.key" 2>/dev/null
issue "$C/class1.pem" "$C/class1.key" \
  '/C=CN/O=alipay-sdk test/OU=Certification Authority/CN=alipay-sdk Test Class 1 R1' \
  "$C/root_rsa.pem" "$C/root_rsa.key" 0x0C1A551 ca
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/class2.key" 2>/dev/null
issue "$C/class2.pem" "$C/class2.key" \
  '/C=CN/O=alipay-sdk test/OU=Certification Authority/CN=alipay-sdk Test Class 2 R1' \
  "$C/root_rsa.pem" "$C/root_rsa.key" 0x0C1A552 ca

issue "$C/app_cert.pem" "$K/app_pkcs8.pem" \
  '/C=CN/O=alipay-sdk test merchant/OU=Alipay/CN=2088000000000001-2021000000000001' \
  "$C/class1.pem" "$C/class1.key" 0x201911280001 leaf
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/alipay.key" 2>/dev/null
openssl pkey -in "$C/alipay.key" -pubout -out "$C/alipay_public.pem" 2>/dev/null
issue "$WORK/alipay_leaf.pem" "$C/alipay.key" \
  '/C=CN/O=alipay-sdk test merchant/OU=Alipay/CN=支付宝(中国)网络技术有限公司-2088000000000001' \
  "$C/class2.pem" "$C/class2.key" 0x201911280002 leaf
cat "$WORK/alipay_leaf.pem" "$C/class2.pem" >"$C/alipay_cert.pem"

# More app key pairs (for hot-reload tests), an Alipay certificate with an RSA-1024 key, and an
# Alipay certificate chained to a CA outside the bundle (for rejected downloads).
for n in 2 3; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/app${n}_pkcs8.pem" 2>/dev/null
  issue "$C/app_cert_${n}.pem" "$K/app${n}_pkcs8.pem" \
    '/C=CN/O=alipay-sdk test merchant/OU=Alipay/CN=2088000000000001-2021000000000001' \
    "$C/class1.pem" "$C/class1.key" "0x20191128000${n}0" leaf
done
issue "$WORK/alipay_1024.pem" "$K/weak_1024.pem" \
  '/C=CN/O=alipay-sdk test merchant/OU=Alipay/CN=支付宝(中国)网络技术有限公司-2088000000000001' \
  "$C/class2.pem" "$C/class2.key" 0x201911281024 leaf
cat "$WORK/alipay_1024.pem" "$C/class2.pem" >"$C/alipay_cert_1024.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rogue.key" 2>/dev/null
openssl req -x509 -new -key "$WORK/rogue.key" -sha256 -days $DAYS -set_serial 0x0BAD \
  -subj '/C=CN/O=alipay-sdk test/OU=Certification Authority/CN=alipay-sdk Test Class 2 R1' \
  -addext 'basicConstraints=critical,CA:true' -out "$WORK/rogue.pem" 2>/dev/null
issue "$WORK/alipay_rogue.pem" "$C/alipay.key" \
  '/C=CN/O=alipay-sdk test merchant/OU=Alipay/CN=支付宝(中国)网络技术有限公司-2088000000000001' \
  "$WORK/rogue.pem" "$WORK/rogue.key" 0x201911280666 leaf
cat "$WORK/alipay_rogue.pem" "$WORK/rogue.pem" >"$C/alipay_cert_rogue_ca.pem"

# ---------------------------------------------------------------------------------------------
# 4. Expected values from the JDK (independent of our code).
# ---------------------------------------------------------------------------------------------
java oracle/SnOracle.java "$OUT"/dn/*.pem "$C/root_rsa.pem" "$C/root_rsa_sha1.pem" \
  "$C/root_ec.pem" "$C/app_cert.pem" "$C/alipay_cert.pem" >"$OUT/expected-sn.jsonl"
echo "wrote $(wc -l <"$OUT/expected-sn.jsonl") expected SNs to testdata/$OUT/expected-sn.jsonl"
