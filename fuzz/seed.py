#!/usr/bin/env python3
"""Writes the seed corpus and the regression inputs of the fuzz targets.

Seeds are well-formed inputs from the project's test PKI (certificates, keys) and messages
signed with its Alipay key by the `openssl` command line; regressions are the hostile inputs
that once panicked or did super-linear work. Run from the repository root:

    python3 fuzz/seed.py
"""
import base64
import hashlib
import os
import subprocess
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKI = os.path.join(ROOT, "testdata", "pki")
ALIPAY_KEY = os.path.join(PKI, "ca", "alipay.key")


def write(kind, target, name, data):
    folder = os.path.join(ROOT, "fuzz", kind, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(PKI, path), "rb") as f:
        return f.read()


def sign(content: bytes) -> str:
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", ALIPAY_KEY], input=content, capture_output=True, check=True
    ).stdout
    return base64.b64encode(signature).decode()


def der_of(pem_path):
    return subprocess.run(
        ["openssl", "x509", "-outform", "DER", "-in", os.path.join(PKI, pem_path)], capture_output=True, check=True
    ).stdout


def tlv(data):
    """(tag, header length, content length) of the element at the start of data."""
    first = data[1]
    if first < 0x80:
        return data[0], 2, first
    count = first & 0x7F
    return data[0], 2 + count, int.from_bytes(data[2 : 2 + count], "big")


def children(element):
    _, head, length = tlv(element)
    rest = element[head : head + length]
    out = []
    while rest:
        _, h, l = tlv(rest)
        out.append(rest[: h + l])
        rest = rest[h + l :]
    return out


def encode(tag, content):
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def replace_tbs_field(cert, index, field):
    parts = children(cert)
    tbs = children(parts[0])
    tbs[index] = field
    return encode(0x30, encode(0x30, b"".join(tbs)) + parts[1] + parts[2])


def main():
    alipay_cert_sn = subprocess.run(
        ["cargo", "run", "-q", "--", "cert", "sn", os.path.join(PKI, "ca", "alipay_cert.pem")],
        cwd=ROOT, capture_output=True, check=True, text=True,
    ).stdout.strip()

    # Certificates and bundles.
    for name in ["ca/alipay_cert.pem", "ca/app_cert.pem", "ca/root_bundle.pem", "ca/root_ec.pem",
                 "dn/bmp.pem", "dn/escapes.pem", "dn/multi_rdn.pem", "dn/cjk_utf8.pem"]:
        write("corpus", "certificate", name.replace("/", "_"), read(name))
    cert = der_of("ca/alipay_cert.pem")
    write("corpus", "certificate", "alipay_cert.der", cert)
    write("corpus", "certificate", "alipay_cert.b64", base64.b64encode(cert))
    validity = children(children(cert)[0])[4]
    not_after = children(validity)[1]
    for tag, digits in [(0x17, b"26010"), (0x18, b"2026010")]:
        bad = encode(tag, digits + "é".encode() + b"000000Z")
        write("regressions", "certificate", f"utf8_in_time_{tag:02x}.der",
              replace_tbs_field(cert, 4, encode(0x30, bad + not_after)))
    write("regressions", "certificate", "serial_64k.der",
          replace_tbs_field(cert, 1, encode(0x02, b"\x01" + b"\x5a" * 65536)))
    write("regressions", "certificate", "serial_not_minimal.der", replace_tbs_field(cert, 1, encode(0x02, b"\x00\x01")))
    write("regressions", "certificate", "serial_empty.der", replace_tbs_field(cert, 1, encode(0x02, b"")))
    write("regressions", "certificate", "oid_huge_arc.der",
          replace_tbs_field(cert, 2, encode(0x30, encode(0x06, b"\x2a" + b"\xff" * 40 + b"\x01"))))
    write("regressions", "certificate", "pem_unterminated.pem", b"-----BEGIN CERTIFICATE-----\nMIIB")
    write("regressions", "certificate", "nested_sequences.der", b"\x30\x80" * 5000)

    # Keys.
    for name in ["keys/app_pkcs1.pem", "keys/app_pkcs8.pem", "keys/app_pkcs8_base64.txt", "keys/app_public.pem",
                 "keys/app_encrypted.pem", "ca/alipay_public.pem"]:
        write("corpus", "key", name.replace("/", "_"), read(name))
    write("regressions", "key", "pem_garbage.pem", b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n")
    write("regressions", "key", "truncated_der.der", base64.b64decode(b"".join(read("keys/app_pkcs8_base64.txt").split()))[:100])
    # SM2 keys (made here by openssl: the test PKI is RSA) and a P-256 key that must be refused.
    sm2 = subprocess.run(["openssl", "genpkey", "-algorithm", "SM2"], capture_output=True, check=True).stdout
    sm2_public = subprocess.run(["openssl", "pkey", "-pubout"], input=sm2, capture_output=True, check=True).stdout
    write("corpus", "key", "sm2_pkcs8.pem", sm2)
    write("corpus", "key", "sm2_pkcs8_base64.txt", b"".join(l for l in sm2.splitlines() if not l.startswith(b"-----")))
    write("corpus", "key", "sm2_public.pem", sm2_public)
    p256 = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
                          capture_output=True, check=True).stdout
    write("corpus", "key", "p256_pkcs8.pem", p256)

    # Gateway responses.
    method = "alipay_trade_query_response"
    node = '{"code":"10000","msg":"Success","out_trade_no":"o-1","trade_no":"t-1","total_amount":"9.99","trade_status":"TRADE_SUCCESS","url":"https:\\/\\/m.example\\/x"}'
    signed = sign(node.encode())
    write("corpus", "response", "success.json",
          f'{{"{method}":{node},"alipay_cert_sn":"{alipay_cert_sn}","sign":"{signed}"}}')
    failure = '{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}'
    write("corpus", "response", "business_failure.json",
          f'{{"{method}":{failure},"alipay_cert_sn":"{alipay_cert_sn}","sign":"{sign(failure.encode())}"}}')
    write("corpus", "response", "error_response.json",
          '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}')
    encrypted = '"c2VjcmV0IGJvZHk="'
    write("corpus", "response", "encrypted.json",
          f'{{"{method}":{encrypted},"alipay_cert_sn":"{alipay_cert_sn}","sign":"{sign(encrypted.encode())}"}}')
    write("regressions", "response", "duplicate_node.json",
          f'{{"{method}":{node},"{method}":{{"code":"10000"}},"alipay_cert_sn":"{alipay_cert_sn}","sign":"{signed}"}}')
    write("regressions", "response", "escaped_sign_key.json",
          f'{{"{method}":{node},"alipay_cert_sn":"{alipay_cert_sn}","sign":"{signed}","\\u0073ign":"AAAA"}}')
    write("regressions", "response", "deep_nesting.json", f'{{"{method}":' + "[" * 100000 + "]" * 100000 + "}")
    write("regressions", "response", "unterminated_string.json", f'{{"{method}":"\\')

    # Notifications (V1: sign and sign_type not signed; empty values kept).
    params = [("app_id", "2021000000000001"), ("notify_id", "n-1"), ("notify_type", "trade_status_sync"),
              ("out_trade_no", "o-1"), ("trade_no", "t-1"), ("trade_status", "TRADE_SUCCESS"),
              ("total_amount", "9.99"), ("subject", "A&B 咖啡"), ("alipay_cert_sn", alipay_cert_sn),
              ("charset", "utf-8"), ("empty", "")]
    content = "&".join(f"{k}={v}" for k, v in sorted(params)).encode()
    form = urllib.parse.urlencode(params + [("sign_type", "RSA2"), ("sign", sign(content))])
    write("corpus", "notification", "trade_v1.form", form)
    gbk_params = [("app_id", "2021000000000001"), ("notify_id", "g-1"), ("subject", "中文商品")]
    gbk_content = "&".join(f"{k}={v}" for k, v in sorted(gbk_params)).encode("gbk")
    gbk_form = urllib.parse.urlencode(gbk_params + [("sign", sign(gbk_content))], encoding="gbk")
    write("corpus", "notification", "gbk_by_header.form", gbk_form)
    write("corpus", "notification", "unsigned.form", "app_id=1&notify_id=2&trade_status=TRADE_SUCCESS")
    write("regressions", "notification", "percent_plus.form", "a=%+1&sign=AAAA")
    write("regressions", "notification", "resplit.form",
          form.replace("total_amount=9.99", "total_amount=9.99%26trade_status%3DTRADE_CLOSED"))
    write("regressions", "notification", "long_sn.form", "alipay_cert_sn=" + "a" * 4096 + "&sign=AAAA")
    write("regressions", "notification", "many_params.form", "&".join(f"p{i}=v" for i in range(20000)) + "&p1=x")

    # OpenAPI v3 answers: status byte (index into 200, 204, 400, 401, 500, 502), headers, a
    # blank line, the body; signed over timestamp\nnonce\nbody\n.
    def v3_answer(status_index, body, signed=True, sn=alipay_cert_sn, signature=None, extra=""):
        headers = "alipay-trace-id: 0123456789abcdef0123456789abcd\n" + extra
        if signed:
            signature = signature or sign(b"1700000000000\nnonce-1\n" + body.encode() + b"\n")
            headers += f"alipay-timestamp: 1700000000000\nalipay-nonce: nonce-1\nalipay-signature: {signature}\n"
            if sn:
                headers += f"alipay-sn: {sn}\n"
        return bytes([status_index]) + headers.encode() + b"\n" + body.encode()

    ok = '{"out_trade_no":"o-1","trade_status":"TRADE_SUCCESS","total_amount":"9.99"}'
    write("corpus", "v3", "success", v3_answer(0, ok))
    write("corpus", "v3", "success_public_key_mode", v3_answer(0, ok, sn=None))
    failure_body = '{"code":"ACQ.TRADE_NOT_EXIST","message":"交易不存在","details":[{"field":"out_trade_no","issue":"x"}],"links":[{"link":"https://x","desc":"d"}]}'
    write("corpus", "v3", "signed_failure", v3_answer(2, failure_body))
    write("corpus", "v3", "unsigned_failure", v3_answer(3, '{"code":"invalid-signature","message":"m"}', signed=False))
    write("corpus", "v3", "unsigned_success", v3_answer(0, ok, signed=False))
    write("corpus", "v3", "empty_204", v3_answer(1, "", signed=False))
    aes_cipher = base64.b64encode(b"\x00" * 32).decode()
    write("corpus", "v3", "encrypted", v3_answer(0, aes_cipher))
    write("corpus", "v3", "path_template", b"\x00/v3/alipay/{id}/x?{q}")
    whitespace = sign(b"1700000000000\nnonce-1\n" + ok.encode() + b"\n")
    write("regressions", "v3", "signature_with_whitespace",
          v3_answer(0, ok, signature=" ".join(whitespace[i:i + 64] for i in range(0, len(whitespace), 64))))
    write("regressions", "v3", "unknown_sn", v3_answer(0, ok, sn="f" * 4096))
    write("regressions", "v3", "missing_nonce", bytes([0]) + b"alipay-signature: QUJD\n\n{}")
    write("regressions", "v3", "unclosed_brace", b"\x00/v3/{" + b"{" * 10000)
    write("regressions", "v3", "deep_json_failure", bytes([2]) + b"\n" + b"[" * 100000)

    bills()


def bills():
    """Bill archives as Alipay lays them out (GBK CSV with `#` notes, tab-padded numbers), the
    detail and summary texts alone (the harness wraps them in an archive), and hostile ones."""
    import csv
    import io
    import zipfile

    def table(notes_before, header, rows, notes_after):
        out = io.StringIO()
        for note in notes_before:
            out.write(note + "\r\n")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        for note in notes_after:
            out.write(note + "\r\n")
        return out.getvalue().encode("gbk")

    def archive(files):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name, content in files:
                z.writestr(name, content)
        return buffer.getvalue()

    trade = table(["#支付宝业务明细查询", "#账号：[20880000000000010156]"],
                  ["支付宝交易号", "商户订单号", "业务类型", "商品名称", "订单金额（元）", "商家实收（元）", "服务费（元）", "备注"],
                  [["2026113022001404\t", "order-1\t", "交易", "会员, 月卡", "88.88", "88.88", "-0.53", "首单"],
                   ["2026113022001404\t", "order-1\t", "退款", "会员, 月卡", "-8.88", "-8.88", "0.05", ""]],
                  ["#交易合计：1笔", "#导出时间：[2026-12-01 09:00:00]"])
    trade_summary = table(["#支付宝业务汇总查询"],
                          ["门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）", "商家实收（元）", "实收净额（元）"],
                          [["合计", "", "1", "1", "80.00", "80.00", "79.52"]], [])
    account = table(["#支付宝账务明细查询"],
                    ["账务流水号", "业务流水号", "商户订单号", "收入金额（+元）", "支出金额（-元）", "账户余额（元）", "业务类型"],
                    [["202611300001\t", "2026113022001404\t", "order-1\t", "+88.88", "0.00", "10088.88", "在线支付"]], [])
    account_summary = table([], ["业务类型", "收入笔数", "收入金额（+元）", "支出笔数", "支出金额（-元）"],
                            [["合计", "1", "88.88", "0", "0.00"]], [])
    write("corpus", "bill", "trade_zip", archive([("x_业务明细.csv", trade), ("x_业务明细(汇总).csv", trade_summary)]))
    write("corpus", "bill", "account_zip", archive([("x_账务明细.csv", account), ("x_账务明细(汇总).csv", account_summary)]))
    write("corpus", "bill", "trade_detail_text", trade)
    write("corpus", "bill", "trade_summary_text", trade_summary)
    write("corpus", "bill", "account_detail_text", account)
    write("corpus", "bill", "account_summary_text", account_summary)
    write("regressions", "bill", "unterminated_quote", b'"\xd6\xa7\xb8\xb6\xb1\xa6\xbd\xbb\xd2\xd7\xba\xc5\r\n"' + b"x" * 100000)
    write("regressions", "bill", "huge_amount", table([], ["支付宝交易号", "订单金额（元）"], [["1", "9" * 5000 + ".99"]], []))
    write("regressions", "bill", "many_columns", table([], ["支付宝交易号"] + ["c%d" % i for i in range(20000)], [["1"]], []))


if __name__ == "__main__":
    main()
