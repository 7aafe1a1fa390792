/**
 * ClaroOS Drop-In Connector
 * Add this file to your ERP/procurement platform to enable
 * product enrichment via the ClaroOS API pipeline.
 *
 * Usage:
 *   const connector = require('./claro-connector');
 *   connector.init({ apiBase: 'https://claroos.polsia.app' });
 */

const API_BASE = process.env.CLARO_API_BASE || 'https://claroos.polsia.app';

const connector = {
  /**
   * Ingest products into ClaroOS pipeline.
   * @param {string} source - Your platform identifier
   * @param {Array} records - Array of {id, name, description} objects
   */
  async ingest(source, records) {
    const res = await fetch(`${API_BASE}/api/ingest`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ source, records })
    });
    return res.json();
  },

  /**
   * Classify products by taxonomy.
   * @param {number} jobId - job_id from ingest response
   * @param {Array} records - Array of {id, name, description}
   */
  async classify(jobId, records) {
    const res = await fetch(`${API_BASE}/api/classify`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ job_id: jobId, records })
    });
    return res.json();
  },

  /**
   * Enrich supplier/company records with firmographic data.
   * @param {Array} records - Array of {company_name, domain?}
   */
  async enrich(records) {
    const res = await fetch(`${API_BASE}/api/enrich`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ records })
    });
    return res.json();
  },

  /**
   * Sync enriched data back to your ERP.
   * @param {number} jobId - job_id from ingest response
   * @param {string} destination - erp | procurement | warehouse | crm | custom
   * @param {string} format - json | csv | xml
   */
  async sync(jobId, destination = 'erp', format = 'json') {
    const res = await fetch(`${API_BASE}/api/sync`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ job_id: jobId, destination, format })
    });
    return res.json();
  },

  /**
   * Full pipeline: ingest → classify → enrich → sync.
   * Handles async job tracking automatically.
   * @param {Object} config - { source, records, destination, format }
   */
  async runFullPipeline({ source, records, destination = 'erp', format = 'json' }) {
    // 1. Ingest
    const { job_id } = await this.ingest(source, records);
    console.log(`[Claro] Job ${job_id} created, ingested ${records.length} records`);

    // 2. Classify
    const { classifications } = await this.classify(job_id, records);
    console.log(`[Claro] Classified ${classifications.length} products`);

    // 3. Enrich (per unique supplier)
    const suppliers = [...new Set(classifications.map(c => c.id.split('-')[0]))];
    const { enrichments } = await this.enrich(suppliers.map(s => ({ company_name: s })));
    console.log(`[Claro] Enriched ${enrichments.length} suppliers`);

    // 4. Sync to ERP
    const { sync_id, status } = await this.sync(job_id, destination, format);
    console.log(`[Claro] Sync ${sync_id} queued — status: ${status}`);

    return { job_id, classifications, enrichments, sync_id, status };
  }
};

module.exports = connector;
