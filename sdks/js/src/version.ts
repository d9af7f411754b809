/** This SDK's version; the drift test checks it against package.json. */
export const VERSION = "0.1.0";
