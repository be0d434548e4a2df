// Prints the BMP code points java.lang.Character.isWhitespace accepts, one hex value a line:
// the oracle for Java's blank-value rule (Alipay's StringUtils.isEmpty).
public class Whitespace {
    public static void main(String[] args) {
        StringBuilder out = new StringBuilder();
        for (int c = 0; c <= 0xFFFF; c++) {
            if (Character.isWhitespace((char) c)) {
                out.append(Integer.toHexString(c)).append('\n');
            }
        }
        System.out.print(out);
    }
}
