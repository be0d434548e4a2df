// Independent oracle for Java's GBK and GB18030 charsets: every BMP character's encoding (or "-" when
// Java cannot encode it), and the decoding of every single byte and every two-byte sequence
// (lead 0x81-0xFE, trail 0x40-0xFE; "-" when Java reports it malformed or unmappable).
// Usage: java CharsetDump.java GBK|GB18030   prints "E <hex char> <hex bytes>" and "D <hex bytes> <hex char>"
// lines, and "R <hex char> no-round-trip" for a character Java does not read back as it wrote it.
import java.nio.charset.*;
import java.nio.*;
public class CharsetDump {
    public static void main(String[] a) throws Exception {
        String name = a[0];
        Charset cs = Charset.forName(name);
        CharsetEncoder enc = cs.newEncoder();
        StringBuilder out = new StringBuilder();
        for (int c = 0; c <= 0xFFFF; c++) {
            if (c >= 0xD800 && c <= 0xDFFF) continue;
            char ch = (char) c;
            if (!enc.canEncode(ch)) { out.append("E ").append(Integer.toHexString(c)).append(" -\n"); continue; }
            byte[] b = String.valueOf(ch).getBytes(cs);
            out.append("E ").append(Integer.toHexString(c)).append(' ');
            for (byte x : b) out.append(String.format("%02x", x & 0xff));
            out.append('\n');
            // Java reads back what it writes; a character it does not is reported.
            String back = new String(b, cs);
            if (!back.equals(String.valueOf(ch))) {
                out.append("R ").append(Integer.toHexString(c)).append(" no-round-trip\n");
            }
        }
        CharsetDecoder dec = cs.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int x = 0; x < 256; x++) {
            try { CharBuffer r = dec.reset().decode(ByteBuffer.wrap(new byte[]{(byte)x})); out.append("D ").append(String.format("%02x", x)).append(' ').append(Integer.toHexString(r.charAt(0))).append('\n'); }
            catch (CharacterCodingException e) { out.append("D ").append(String.format("%02x", x)).append(" -\n"); }
        }
        for (int l = 0x81; l <= 0xFE; l++) for (int t = 0x40; t <= 0xFE; t++) {
            try { CharBuffer r = dec.reset().decode(ByteBuffer.wrap(new byte[]{(byte)l,(byte)t})); out.append("D ").append(String.format("%02x%02x", l, t)).append(' ').append(r.length()==1?Integer.toHexString(r.charAt(0)):"multi").append('\n'); }
            catch (CharacterCodingException e) { out.append("D ").append(String.format("%02x%02x", l, t)).append(" -\n"); }
        }
        System.out.print(out);
    }
}
