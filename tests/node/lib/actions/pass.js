// Emit the incoming body unchanged: the official sailor around it does the platform's part
// (decrypting, the x-eio-meta-* headers carried on, encrypting, publishing with amqplib).
exports.process = async function process(msg) {
  return { body: msg.body };
};
