// Runs the connector's own full pipeline and prints its result as JSON on the last line.
const connector = require('./claro-connector');

(async () => {
  const records = JSON.parse(process.env.RECORDS);
  const result = await connector.runFullPipeline({
    source: 'acme-erp',
    records,
    destination: process.env.DESTINATION || 'erp',
    format: process.env.FORMAT || 'json',
  });
  console.log(JSON.stringify(result));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
