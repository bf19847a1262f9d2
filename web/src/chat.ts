// PLACEHOLDER until the web part lands: the /chat page script.
export {};
